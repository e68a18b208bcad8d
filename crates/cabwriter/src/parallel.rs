//! Compressing the blocks: serially, or on worker threads while this thread reads input and
//! writes the finished CFDATA records in sequence order.
//!
//! Invariant: records are written strictly in block order and each record depends only on its
//! block and dictionary, so the output bytes never depend on the thread count or timing.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc;
use std::sync::Mutex;

use crate::layout::Plan;
use crate::reader::{produce_blocks, Job};
use crate::CabError;

/// CFDATA blocks queued or being compressed per worker thread.
const BLOCKS_IN_FLIGHT_PER_THREAD: usize = 4;

/// Compresses every block of `plan` on `threads` threads (0 = the machine's available
/// parallelism) and writes the records to `sink`.
pub(crate) fn compress_blocks<W: Write>(
    plan: &Plan<'_>,
    threads: usize,
    sink: &mut Sink<'_, W>,
) -> Result<(), CabError> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    if threads <= 1 || plan.total_blocks <= 1 {
        produce_blocks(plan, |job| {
            let record = job.encode(plan.codec)?;
            sink.write_record(job.seq, &record)
        })
    } else {
        compress_in_parallel(plan, threads, sink)
    }
}

/// Encodes blocks on `threads` workers while this thread reads input and writes the
/// finished records in sequence order.
fn compress_in_parallel<W: Write>(
    plan: &Plan<'_>,
    threads: usize,
    sink: &mut Sink<'_, W>,
) -> Result<(), CabError> {
    let in_flight = threads * BLOCKS_IN_FLIGHT_PER_THREAD;
    let codec = plan.codec;
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Vec<u8>, CabError>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                // A panic must come back as an error: the writer waits for every block.
                let record =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.encode(codec)))
                        .unwrap_or_else(|_| Err(CabError::Compress("the encoder panicked".into())));
                if done_tx.send((job.seq, record)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);

        // Moving the job sender into this closure drops it on every exit path, which is
        // what lets the workers stop before the scope joins them.
        let run = move || -> Result<(), CabError> {
            let mut pending: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            let mut submitted = 0usize;
            let receive_one = |pending: &mut BTreeMap<usize, Vec<u8>>,
                               sink: &mut Sink<'_, W>|
             -> Result<(), CabError> {
                let (seq, record) = done_rx
                    .recv()
                    .expect("workers live while jobs are outstanding");
                pending.insert(seq, record?);
                while let Some(record) = pending.remove(&sink.next_seq) {
                    sink.write_record(sink.next_seq, &record)?;
                }
                Ok(())
            };
            produce_blocks(plan, |job| {
                while submitted - sink.next_seq >= in_flight {
                    receive_one(&mut pending, sink)?;
                }
                job_tx
                    .send(job)
                    .expect("workers live while the sender exists");
                submitted += 1;
                Ok(())
            })?;
            drop(job_tx);
            while sink.next_seq < submitted {
                receive_one(&mut pending, sink)?;
            }
            Ok(())
        };
        run()
    })
}

/// Writes CFDATA records in sequence and remembers where each folder's data starts.
pub(crate) struct Sink<'w, W: Write> {
    out: &'w mut W,
    /// Bytes written since the start of the cabinet.
    offset: u64,
    folder_offsets: Vec<u64>,
    folder_first_block: Vec<usize>,
    next_seq: usize,
}

impl<'w, W: Write> Sink<'w, W> {
    /// A sink writing to `out`, where `offset` bytes of the cabinet (the header) are written.
    pub(crate) fn new(out: &'w mut W, offset: u64, plan: &Plan<'_>) -> Self {
        Sink {
            out,
            offset,
            folder_offsets: Vec::with_capacity(plan.folders.len()),
            folder_first_block: plan.folder_first_blocks(),
            next_seq: 0,
        }
    }

    fn write_record(&mut self, seq: usize, record: &[u8]) -> Result<(), CabError> {
        debug_assert_eq!(seq, self.next_seq);
        while self.folder_offsets.len() < self.folder_first_block.len()
            && self.folder_first_block[self.folder_offsets.len()] <= seq
        {
            self.folder_offsets.push(self.offset);
        }
        self.out.write_all(record).map_err(CabError::Write)?;
        self.offset += record.len() as u64;
        if self.offset > u64::from(u32::MAX) {
            return Err(CabError::CabinetTooLarge);
        }
        self.next_seq += 1;
        Ok(())
    }

    /// The cabinet's total size and each folder's data offset; folders without data (only
    /// empty files) start where the data ends.
    pub(crate) fn finish(mut self) -> (u64, Vec<u64>) {
        while self.folder_offsets.len() < self.folder_first_block.len() {
            self.folder_offsets.push(self.offset);
        }
        (self.offset, self.folder_offsets)
    }
}

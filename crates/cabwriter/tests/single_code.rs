//! The reason the encoder choice matters: some deflate encoders emit an incomplete
//! "single code" distance table for data whose matches all have one distance, and
//! libmspack (cabextract, many antivirus engines) refuses such blocks. Shows that the
//! strict decoder used by the other tests catches exactly that, that cabextract rejects
//! it too, and that our writer never produces it for the same data.

mod common;

use common::*;
use std::process::Command;

/// A one-folder MSZIP cabinet holding one file made of the given raw deflate blocks.
fn cab_from_deflate_blocks(name: &str, blocks: &[(Vec<u8>, usize)]) -> Vec<u8> {
    let total: usize = blocks.iter().map(|b| b.1).sum();
    let header_len = 36 + 8 + 16 + name.len() + 1;
    let mut data = Vec::new();
    for (deflated, uncompressed) in blocks {
        let mut payload = b"CK".to_vec();
        payload.extend_from_slice(deflated);
        let mut sizes = Vec::new();
        sizes.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        sizes.extend_from_slice(&(*uncompressed as u16).to_le_bytes());
        let csum = xor_checksum(&sizes, xor_checksum(&payload, 0));
        data.extend_from_slice(&csum.to_le_bytes());
        data.extend_from_slice(&sizes);
        data.extend_from_slice(&payload);
    }
    let mut cab = Vec::new();
    cab.extend_from_slice(b"MSCF");
    cab.extend_from_slice(&0u32.to_le_bytes());
    cab.extend_from_slice(&((header_len + data.len()) as u32).to_le_bytes());
    cab.extend_from_slice(&0u32.to_le_bytes());
    cab.extend_from_slice(&44u32.to_le_bytes());
    cab.extend_from_slice(&0u32.to_le_bytes());
    cab.extend_from_slice(&[3, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    cab.extend_from_slice(&(header_len as u32).to_le_bytes());
    cab.extend_from_slice(&(blocks.len() as u16).to_le_bytes());
    cab.extend_from_slice(&1u16.to_le_bytes());
    cab.extend_from_slice(&(total as u32).to_le_bytes());
    cab.extend_from_slice(&[0; 4]);
    cab.extend_from_slice(&[0, 0, 0x21, 0, 0, 0, 0x20, 0]);
    cab.extend_from_slice(name.as_bytes());
    cab.push(0);
    cab.extend_from_slice(&data);
    cab
}

fn xor_checksum(data: &[u8], seed: u32) -> u32 {
    let mut csum = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        csum ^= u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let mut last = 0u32;
    for &b in chunks.remainder() {
        last = last << 8 | u32::from(b);
    }
    csum ^ last
}

#[test]
fn single_code_distance_tables_are_caught_and_never_written() {
    let payloads = [
        ("zeros", vec![0u8; 32768]),
        ("abab", repeat_bytes(b"ab", 32768)),
        ("abcabc", repeat_bytes(b"abc", 32768)),
    ];
    let mut miniz_offenders = 0;
    for (name, data) in &payloads {
        // miniz_oxide at its best level, as the `cab` crate uses it.
        let deflated = miniz_oxide::deflate::compress_to_vec(data, 10);
        let mut out = Vec::new();
        let strict = inflate_strict(&deflated, &mut out);
        if let Err(e) = &strict {
            assert!(e.contains("incomplete distance code"), "{name}: {e}");
            eprintln!("miniz_oxide on {name}: {e}");
            miniz_offenders += 1;
            if require_tool("cabextract") {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("bad.cab");
                std::fs::write(
                    &path,
                    cab_from_deflate_blocks(name, &[(deflated.clone(), data.len())]),
                )
                .unwrap();
                let (ok, text) = run(Command::new("cabextract").arg("-t").arg(&path));
                assert!(
                    !ok,
                    "cabextract accepted a single-code table for {name}:\n{text}"
                );
            }
        } else {
            assert!(out == *data, "{name}: miniz output decodes wrong");
        }

        // Our writer on the same data: every block passes the strict decoder.
        for level in 0..=9 {
            let entries = vec![cabwriter::CabEntry::new(
                *name,
                cabwriter::Source::Bytes(data.repeat(3)),
            )];
            let mut cur = std::io::Cursor::new(Vec::new());
            let opts = cabwriter::CabOptions {
                compression: cabwriter::Compression::MsZip { level },
                ..Default::default()
            };
            cabwriter::write_cabinet(&entries, &opts, &mut cur).unwrap();
            let parsed = parse_cab(cur.get_ref());
            assert!(parsed.files[0].data == data.repeat(3));
        }
    }
    // The check is only meaningful if the offending encoder really offends here.
    assert!(
        miniz_offenders > 0,
        "miniz_oxide no longer emits single-code tables on these payloads"
    );
}

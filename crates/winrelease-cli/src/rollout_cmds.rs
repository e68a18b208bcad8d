//! `rollout start|status|advance|halt|abort`: staged rollout of a version on a channel,
//! gated on the reports the host agents write to a status folder.

use std::path::PathBuf;

use anyhow::Result;
use winrelease::config::Project;
use winrelease::publish::{self, ChannelChange, ChannelPointer, PublishOptions};
use winrelease::rollout::{self, Advanced, RolloutError, StartRequest, StatusReport};

use crate::edge::{now, publish_environment};
use crate::store_cmds::{key, location, StoreArgs};

#[derive(clap::Subcommand)]
pub enum RolloutCommand {
    /// Start rolling a published VERSION out on a channel, step by step.
    Start {
        version: String,
        #[arg(long)]
        channel: String,
        /// Percent of hosts at each step, ascending, ending at 100.
        #[arg(long, value_delimiter = ',', default_value = "5,25,100")]
        steps: Vec<u8>,
        /// Hosts of a step that may fail their health gate before `advance` halts.
        #[arg(long, default_value_t = 0)]
        max_failures: u32,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Per-host table and per-version counts from the status folder.
    Status {
        #[command(flatten)]
        common: GateArgs,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Widen to the next step if every host of this one reported healthy; else halt.
    Advance {
        #[command(flatten)]
        common: GateArgs,
    },
    /// Stop moving hosts forward.
    Halt {
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Send every host back to the previous version (a signed rollback pointer).
    Abort {
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Args)]
pub struct GateArgs {
    #[arg(long)]
    channel: String,
    /// The folder the agents write their status to (`status_dir` in their config).
    #[arg(long)]
    status: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(project: &Project, command: RolloutCommand) -> Result<i32> {
    let product = project.config.product.as_str();
    let env = publish_environment();
    let options = PublishOptions::new(now(), env.clone());
    let open = |args: &StoreArgs| publish::open_store(&location(project, args), &env);
    match command {
        RolloutCommand::Start {
            version,
            channel,
            steps,
            max_failures,
            store,
        } => {
            let request = StartRequest {
                version,
                steps,
                max_failures,
            };
            let key = key(project, &store)?;
            let change =
                rollout::start(&*open(&store)?, product, &channel, &request, &key, &options)?;
            print_change("rollout started", &change);
            Ok(0)
        }
        RolloutCommand::Status { common, json } => status(project, &common, json),
        RolloutCommand::Advance { common } => {
            let key = key(project, &common.store)?;
            let report = rollout::read_statuses(&common.status, product, &common.channel)?;
            let store = open(&common.store)?;
            match rollout::advance(
                &*store,
                product,
                &common.channel,
                &report.hosts,
                &key,
                &options,
            ) {
                Ok(Advanced::Step(change, percent)) => {
                    print_change(&format!("rollout advanced to {percent}%"), &change);
                    Ok(0)
                }
                Ok(Advanced::Finished(change)) => {
                    print_change("rollout finished, every host takes it", &change);
                    Ok(0)
                }
                Err(err @ RolloutError::GateClosed { .. }) => {
                    eprintln!("error: {err}");
                    Ok(2)
                }
                Err(err) => Err(err.into()),
            }
        }
        RolloutCommand::Halt { channel, store } => {
            let key = key(project, &store)?;
            let change = rollout::halt(&*open(&store)?, product, &channel, &key, &options)?;
            print_change("rollout halted", &change);
            Ok(0)
        }
        RolloutCommand::Abort { channel, store } => {
            let key = key(project, &store)?;
            let change = rollout::abort(&*open(&store)?, product, &channel, &key, &options)?;
            print_change("rollout aborted, hosts go back", &change);
            Ok(0)
        }
    }
}

fn print_change(what: &str, change: &ChannelChange) {
    println!(
        "{what}: channel {} {} → {} (signed pointer, sequence {}{})",
        change.channel,
        change.from.as_deref().unwrap_or("(none)"),
        change.to,
        change.sequence,
        if change.changed { "" } else { ", unchanged" }
    );
}

fn status(project: &Project, args: &GateArgs, json: bool) -> Result<i32> {
    let product = project.config.product.as_str();
    let env = publish_environment();
    let store = publish::open_store(&location(project, &args.store), &env)?;
    let public_key = key(project, &args.store)?.public_key();
    let pointer = rollout::read_channel(&*store, product, &args.channel, &public_key)?;
    let report = rollout::read_statuses(&args.status, product, &args.channel)?;
    let gate = pointer.as_ref().and_then(|p| {
        p.rollout
            .as_ref()
            .map(|r| rollout::judge(p, r, &report.hosts))
    });
    if json {
        let value = serde_json::json!({
            "product": product,
            "channel": args.channel,
            "pointer": pointer,
            "hosts": report.hosts,
            "versions": report.version_counts(),
            "unreadable": report.unreadable,
            "gate": gate.as_ref().map(|g| serde_json::json!({"passes": g.passes(), "report": g, "reasons": g.reasons()})),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    println!("{}", pointer_line(&args.channel, pointer.as_ref()));
    print_table(&report);
    if let Some(gate) = gate {
        match gate.passes() {
            true => println!("gate: open, `rollout advance` takes the next step"),
            false => println!("gate: closed\n  {}", gate.reasons().join("\n  ")),
        }
    }
    Ok(0)
}

fn pointer_line(channel: &str, pointer: Option<&ChannelPointer>) -> String {
    let Some(p) = pointer else {
        return format!("channel {channel}: does not exist");
    };
    match &p.rollout {
        None => format!("channel {channel}: {} for every host (sequence {})", p.version, p.sequence),
        Some(r) => format!(
            "channel {channel}: rolling out {} over {} at {}% of hosts (steps {:?}, max failures {}), {:?}, sequence {}",
            p.version, r.previous, r.percent, r.steps, r.max_failures, r.state, p.sequence
        ),
    }
}

fn print_table(report: &StatusReport) {
    println!(
        "{:<20} {:>5}  {:<12} {:<12} {:<14} {:<20}  note",
        "host", "place", "version", "target", "state", "when"
    );
    for h in &report.hosts {
        let note = match (h.failed_version.is_empty(), h.error.is_empty()) {
            (false, _) => format!("failed {}: {}", h.failed_version, h.failed_reason),
            (true, false) => h.error.clone(),
            (true, true) => h.health.clone(),
        };
        println!(
            "{:<20} {:>5}  {:<12} {:<12} {:<14} {:<20}  {note}",
            h.host, h.place, h.version, h.target, h.state, h.when
        );
    }
    let counts: Vec<String> = report
        .version_counts()
        .iter()
        .map(|(v, n)| format!("{}: {n}", if v.is_empty() { "(none)" } else { v }))
        .collect();
    println!("versions: {}", counts.join(", "));
    for (path, why) in &report.unreadable {
        println!("unreadable: {} {why}", path.display());
    }
}

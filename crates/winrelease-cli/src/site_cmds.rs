//! `cargo xtask transform` and `cargo xtask gpo-check`: per-site transforms and the Group Policy
//! readiness report (all behaviour lives in `winrelease::site_transform` and `msi-writer`).

use std::path::PathBuf;

use anyhow::Result;
use winrelease::site_transform::{self, TransformScope};

#[derive(clap::Args)]
pub struct TransformArgs {
    /// The MSI the transform is for (built by winrelease: it lists its site settings).
    #[arg(long)]
    msi: PathBuf,
    /// A site setting, NAME=VALUE (repeat for several), e.g. --set LISTEN_PORT=9090.
    #[arg(long = "set", value_name = "NAME=VALUE", required = true)]
    set: Vec<String>,
    /// Where to write the transform (.mst).
    #[arg(long)]
    out: PathBuf,
    /// Let the transform apply to later versions of the product too (default: only this MSI).
    #[arg(long)]
    any_later_version: bool,
}

#[derive(clap::Args)]
pub struct GpoCheckArgs {
    /// The MSI to check.
    file: PathBuf,
    /// A transform the MSI will be assigned with (repeat for several).
    #[arg(long = "transform", value_name = "MST")]
    transforms: Vec<PathBuf>,
    /// The previous release's MSI, which this one must upgrade.
    #[arg(long, value_name = "OLD.msi")]
    previous: Option<PathBuf>,
}

/// Writes the transform and prints what it changes.
pub fn transform(args: TransformArgs) -> Result<i32> {
    let settings = args
        .set
        .iter()
        .map(|arg| site_transform::parse_setting(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let scope = if args.any_later_version {
        TransformScope::ThisAndLaterVersions
    } else {
        TransformScope::ThisPackage
    };
    let made = site_transform::write_transform(&args.msi, &settings, scope, &args.out)?;
    println!("wrote {} ({} bytes)", args.out.display(), made.bytes.len());
    for change in &made.changes {
        println!(
            "  {} = {:?} (package default {:?})",
            change.property, change.value, change.default
        );
    }
    match scope {
        TransformScope::ThisPackage => println!(
            "  applies to ProductCode {} (version {}) only",
            made.product_code, made.product_version
        ),
        TransformScope::ThisAndLaterVersions => println!(
            "  applies to UpgradeCode {} from version {} on",
            made.upgrade_code, made.product_version
        ),
    }
    Ok(0)
}

/// Prints one line per check; exit code 1 when any check fails.
pub fn gpo_check(args: GpoCheckArgs) -> Result<i32> {
    let report = site_transform::gpo_check(&args.file, &args.transforms, args.previous.as_deref())?;
    println!("{report}");
    Ok(if report.is_ready() { 0 } else { 1 })
}

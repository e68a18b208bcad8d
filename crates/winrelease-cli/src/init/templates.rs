//! The files `init` writes into an adopting repository, as text.
//!
//! *Invariant:* the same findings and UpgradeCode give the same text; strings are written as
//! TOML basic strings (JSON's escapes are TOML's), so any name survives.

use super::detect::Found;

/// Where the adopter's xtask takes winrelease from.
pub enum Source {
    Path(String),
    Git(String),
}

/// A TOML basic string.
fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// The publisher, from the module path: `github.com/acme/x` → `acme`, `example.org/x` →
/// `example.org`.
fn manufacturer(module: &str) -> String {
    let parts: Vec<&str> = module.split('/').collect();
    match parts.as_slice() {
        [host, org, _, ..] if host.contains('.') => org.to_string(),
        [host, ..] => host.to_string(),
        [] => module.to_string(),
    }
}

/// The root `Cargo.toml`: a workspace of the xtask crate, holding the release configuration.
pub fn root_cargo_toml(found: &Found, service: usize, upgrade_code: &str) -> String {
    let main = &found.mains[service];
    let product = main.exe_name.clone();
    let mut t = String::new();
    t.push_str("# `cargo xtask release` builds, packages (MSI, zip), signs and publishes this Go service for\n");
    t.push_str("# Windows with winrelease. Every key: the winrelease README, \"Configuration\".\n");
    t.push_str("[workspace]\nmembers = [\"xtask\"]\nresolver = \"2\"\n\n");
    t.push_str("# winrelease compresses, hashes and signs: build its dependencies optimized.\n");
    t.push_str("[profile.dev.package.\"*\"]\nopt-level = 3\n\n");
    t.push_str("[profile.release]\ndebug = false\nincremental = true\n\n");
    t.push_str("[workspace.metadata.winrelease]\n");
    t.push_str(&format!("product = {}\n", q(&product)));
    t.push_str(&format!(
        "manufacturer = {}\n",
        q(&manufacturer(&found.module))
    ));
    t.push_str(&format!(
        "description = {}\n",
        q(&format!("{product}, built from {}", found.module))
    ));
    t.push_str("# Never change it: Windows Installer knows the product's releases by it.\n");
    t.push_str(&format!("upgrade_code = {}\n", q(upgrade_code)));
    t.push_str("service_dir = \".\"\n");
    t.push_str(&format!("go_package = {}\n", q(&main.package)));
    t.push_str(&format!("exe_name = {}\n", q(&main.exe_name)));
    t.push_str(&stamping(found));
    match &found.config {
        Some(config) => t.push_str(&format!(
            "# Installed as the default config in ProgramData\\<product>, never overwritten.\nconfig_template = {}\n",
            q(config)
        )),
        None => t.push_str("# No config file found; name one here to install it.\nconfig_template = \"\"\n"),
    }
    t.push_str(&service_table(found, main));
    for (i, other) in found.mains.iter().enumerate() {
        if i != service {
            t.push_str(&format!(
                "\n[[workspace.metadata.winrelease.binaries]]\ngo_package = {}\nexe_name = {}\n",
                q(&other.package),
                q(&other.exe_name)
            ));
        }
    }
    for dir in &found.static_dirs {
        t.push_str(&format!(
            "\n[[workspace.metadata.winrelease.files]]\nsrc = {}\ndst = {}\n",
            q(dir),
            q(dir)
        ));
    }
    t
}

/// `ldflags` for the variables found, in GoReleaser's template names.
fn stamping(found: &Found) -> String {
    let Some(stamp) = &found.stamp else {
        return "# No version variables found: `main.version`, `main.commit`, `main.commitTime` and\n# `main.dirty` are stamped when they exist. To stamp others, set ldflags, e.g.\n# ldflags = [\"-X main.Version={{.Version}}\"]\n".into();
    };
    let flags: Vec<String> = stamp
        .vars
        .iter()
        .map(|(name, template)| format!("-X {}.{name}={template}", stamp.import_path))
        .collect();
    let mut t = String::from("# Checked after every build: an -X that sets nothing is an error.\n");
    for name in &stamp.unfilled {
        t.push_str(&format!(
            "# {}.{name} is left empty: the same commit builds the same bytes on every branch.\n",
            stamp.import_path
        ));
    }
    t.push_str(&format!("ldflags = [{}]\n", q(&flags.join(" "))));
    t
}

/// `[service]`: the service runs the exe with its config file from the data folder.
fn service_table(found: &Found, main: &super::detect::MainPackage) -> String {
    let arguments = match &found.config {
        Some(config) => {
            let name = config.rsplit('/').next().unwrap_or(config);
            format!("--config \"[DATADIR]{name}\"")
        }
        None => String::new(),
    };
    format!(
        "\n[workspace.metadata.winrelease.service]\nname = {}\ndisplay_name = {}\ndescription = {}\naccount = \"LocalSystem\"\n# What the Service Control Manager passes the exe ([DATADIR]: ProgramData\\<product>\\).\narguments = {}\n",
        q(&main.exe_name),
        q(&main.exe_name),
        q(&format!("{} service", main.exe_name)),
        q(&arguments)
    )
}

/// `xtask/Cargo.toml`.
pub fn xtask_cargo_toml(source: &Source) -> String {
    let dependency = match source {
        Source::Path(path) => format!("{{ path = {} }}", q(path)),
        Source::Git(url) => format!("{{ git = {} }}", q(url)),
    };
    format!(
        "[package]\nname = \"xtask\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n# Upgrading winrelease is changing this line.\nwinrelease-cli = {dependency}\n"
    )
}

/// `xtask/src/main.rs`: the whole command line is winrelease's.
pub const XTASK_MAIN: &str = "//! `cargo xtask`: release this Go service for Windows (winrelease).\n\nfn main() {\n    winrelease_cli::main()\n}\n";

/// `.cargo/config.toml`: the `cargo xtask` alias.
pub const CARGO_CONFIG: &str = "[alias]\nxtask = \"run --package xtask --release --\"\n";

/// `.github/workflows/winrelease-ci.yml`: a snapshot release of every push and pull request,
/// signed with a throw-away development key, kept as a workflow artifact.
pub const CI_WORKFLOW: &str = r#"name: winrelease snapshot

on:
  push:
    branches: ["**"]
  pull_request:

permissions:
  contents: read

jobs:
  snapshot:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # stamping needs the tags and the history to them
      - uses: actions/setup-go@v5
        with:
          go-version-file: go.mod
      - uses: dtolnay/rust-toolchain@stable
      - uses: Swatinem/rust-cache@v2
      - name: Snapshot release (development key; never published to stable)
        env:
          CI: "false" # a snapshot may use the development key
        run: cargo xtask release --snapshot
      - uses: actions/upload-artifact@v4
        with:
          name: snapshot
          path: target/winrelease/*/
"#;

/// `.github/workflows/winrelease-release.yml`: the real release of a `vX.Y.Z` tag.
pub const RELEASE_WORKFLOW: &str = r#"name: winrelease release

on:
  push:
    tags: ["v*"]

permissions:
  contents: read

jobs:
  release:
    runs-on: ubuntu-24.04
    permissions:
      contents: write # create the GitHub release and upload its assets
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # stamping needs the tags and the history to them
      - uses: actions/setup-go@v5
        with:
          go-version-file: go.mod
      - uses: dtolnay/rust-toolchain@stable
      - uses: Swatinem/rust-cache@v2
      - name: Release
        env:
          WINRELEASE_SECRET_KEY: ${{ secrets.WINRELEASE_SECRET_KEY }}
          WINRELEASE_PASSPHRASE: ${{ secrets.WINRELEASE_PASSPHRASE }}
        run: cargo xtask release
      - name: Upload to the GitHub release
        env:
          GH_TOKEN: ${{ github.token }}
          TAG: ${{ github.ref_name }}
        run: |
          version="${TAG#v}"
          gh release create "$TAG" --verify-tag --title "$TAG" --notes "Release $TAG" \
            target/winrelease/"$version"/*
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publisher_comes_from_the_module_path() {
        assert_eq!(manufacturer("github.com/acme/agent"), "acme");
        assert_eq!(manufacturer("example.org/agent"), "example.org");
        assert_eq!(manufacturer("agent"), "agent");
    }
}

//! The WiX source (`.wxs`) equivalent to an msi-writer [`Package`], for `wixl`.
//!
//! Equivalent means: the same product identity, folders, files (one component per file, file
//! as key path, 64-bit), component attributes, public properties, service registration and
//! control, a major upgrade that refuses downgrades, and one embedded MSZIP cabinet. What wixl
//! cannot express the way msi-writer writes it is left out and listed by [`not_expressed`]
//! (recovery and firewall custom actions, first-install commands, the Event Log source), so
//! the comparison never flatters us by giving wixl less to do than it could.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use msi_writer::{DirBase, DirRef, KnownFolder, Package, Source};

/// `{ABC…}` → `ABC…`: WiX wants bare GUIDs.
fn bare(guid: &msi_writer::Guid) -> String {
    guid.to_string()
        .trim_matches(|c| c == '{' || c == '}')
        .to_string()
}

/// Escapes text for an XML attribute value in double quotes.
pub fn attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Parts of the model the generated `.wxs` does not carry, for the report.
pub fn not_expressed(pkg: &Package) -> Vec<String> {
    let mut out = Vec::new();
    if pkg.recovery.is_some() {
        out.push("service recovery (sc.exe custom actions)".into());
    }
    if !pkg.firewall_rules.is_empty() {
        out.push(format!(
            "{} firewall rule custom action(s)",
            pkg.firewall_rules.len()
        ));
    }
    if !pkg.commands.is_empty() {
        out.push("first-install config seeding command".into());
    }
    if pkg.event_log_source.is_some() {
        out.push("Event Log source registry keys".into());
    }
    if pkg.properties.iter().any(|p| p.site_settable) {
        out.push("the site-settings table".into());
    }
    out
}

/// What only the wixl package lacks.
pub fn wixl_lacks(pkg: &Package) -> Vec<String> {
    let mut out = Vec::new();
    if pkg.files.iter().any(|f| f.never_overwrite || f.permanent) {
        out.push("NeverOverwrite/Permanent component attributes (wixl 0.101 has neither)".into());
    }
    out
}

/// Paths of the files a package's in-memory sources were written to (wixl reads files only).
pub fn materialize_sources(pkg: &Package, scratch: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut paths = BTreeMap::new();
    for file in &pkg.files {
        let path = match &file.source {
            Source::Path(p) => p.clone(),
            Source::Bytes(bytes) => {
                let dir = scratch.join(&file.key);
                std::fs::create_dir_all(&dir)?;
                let p = dir.join(&file.name);
                std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
                p
            }
        };
        paths.insert(file.key.clone(), path);
    }
    Ok(paths)
}

/// A node of the target folder tree: its sub-folders (by name) and the files in it.
#[derive(Default)]
struct Folder {
    children: BTreeMap<String, Folder>,
    files: Vec<usize>,
}

impl Folder {
    fn at(&mut self, sub: &[String]) -> &mut Folder {
        sub.iter()
            .fold(self, |f, name| f.children.entry(name.clone()).or_default())
    }
}

/// `path` relative to the folder `base` (both absolute): wixl refuses absolute `Source` paths
/// and resolves relative ones against its working directory.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

/// The `.wxs` text for `pkg`; `sources` maps each file key to the file wixl should read
/// (relative to the folder wixl runs in).
pub fn generate(pkg: &Package, sources: &BTreeMap<String, PathBuf>) -> Result<String> {
    let p = &pkg.product;
    let mut roots: BTreeMap<&'static str, (Vec<String>, String, Folder)> = BTreeMap::new();
    roots.insert(
        pkg.install_dir.under.directory_key(),
        (
            pkg.install_dir.path.clone(),
            pkg.install_dir.property.clone(),
            Folder::default(),
        ),
    );
    for d in &pkg.data_dirs {
        roots.insert(
            d.under.directory_key(),
            (d.path.clone(), d.key.clone(), Folder::default()),
        );
    }
    let root_of = |dir: &DirRef| -> &'static str {
        match &dir.base {
            DirBase::Install => pkg.install_dir.under.directory_key(),
            DirBase::Data(key) => pkg
                .data_dirs
                .iter()
                .find(|d| &d.key == key)
                .map_or(KnownFolder::CommonAppData.directory_key(), |d| {
                    d.under.directory_key()
                }),
        }
    };
    for (i, file) in pkg.files.iter().enumerate() {
        let (_, _, folder) = roots
            .get_mut(root_of(&file.dir))
            .context("file in an unknown directory")?;
        folder.at(&file.dir.sub).files.push(i);
    }

    let mut x = String::new();
    let w = &mut x;
    writeln!(w, r#"<?xml version="1.0" encoding="utf-8"?>"#)?;
    writeln!(
        w,
        r#"<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">"#
    )?;
    writeln!(
        w,
        r#"  <Product Id="{}" Name="{}" Language="{}" Version="{}.{}.{}" Manufacturer="{}" UpgradeCode="{}">"#,
        bare(&p.product_code),
        attr(&p.name),
        p.language,
        p.version.0,
        p.version.1,
        p.version.2,
        attr(&p.manufacturer),
        bare(&p.upgrade_code)
    )?;
    writeln!(
        w,
        r#"    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine" Description="{}"/>"#,
        attr(&p.description)
    )?;
    writeln!(
        w,
        r#"    <MajorUpgrade DowngradeErrorMessage="A newer version of [ProductName] is already installed."/>"#
    )?;
    writeln!(
        w,
        r#"    <Media Id="1" Cabinet="product.cab" EmbedCab="yes"/>"#
    )?;
    for prop in &pkg.properties {
        writeln!(
            w,
            r#"    <Property Id="{}" Value="{}"/>"#,
            prop.name,
            attr(&prop.value)
        )?;
    }
    writeln!(w, r#"    <Directory Id="TARGETDIR" Name="SourceDir">"#)?;
    let mut dir_ids = 0usize;
    let mut components = Vec::new();
    for (known, (path, id, folder)) in &roots {
        writeln!(w, r#"      <Directory Id="{known}">"#)?;
        // Every folder of the path but the last is a plain folder; the last carries the key.
        let depth = path.len();
        for (n, name) in path.iter().enumerate() {
            let this_id = if n + 1 == depth {
                id.clone()
            } else {
                dir_ids += 1;
                format!("d{dir_ids}")
            };
            writeln!(
                w,
                r#"{}<Directory Id="{this_id}" Name="{}">"#,
                "  ".repeat(4 + n),
                attr(name)
            )?;
        }
        let create = pkg.data_dirs.iter().any(|d| &d.key == id && d.create);
        write_folder(
            w,
            pkg,
            sources,
            folder,
            4 + depth,
            &mut dir_ids,
            &mut components,
            create.then_some(id.as_str()),
        )?;
        for n in (0..depth).rev() {
            writeln!(w, "{}</Directory>", "  ".repeat(4 + n))?;
        }
        writeln!(w, "      </Directory>")?;
    }
    writeln!(w, "    </Directory>")?;
    writeln!(w, r#"    <Feature Id="Main" Level="1">"#)?;
    for c in &components {
        writeln!(w, r#"      <ComponentRef Id="{c}"/>"#)?;
    }
    writeln!(w, "    </Feature>")?;
    writeln!(w, "  </Product>")?;
    writeln!(w, "</Wix>")?;
    Ok(x)
}

#[allow(clippy::too_many_arguments)]
fn write_folder(
    w: &mut String,
    pkg: &Package,
    sources: &BTreeMap<String, PathBuf>,
    folder: &Folder,
    indent: usize,
    dir_ids: &mut usize,
    components: &mut Vec<String>,
    create_folder: Option<&str>,
) -> Result<()> {
    let pad = "  ".repeat(indent);
    if let Some(dir) = create_folder {
        let id = format!("cf_{dir}");
        writeln!(
            w,
            r#"{pad}<Component Id="{id}" Guid="{}" Win64="yes"><CreateFolder/></Component>"#,
            bare(
                &pkg.product
                    .upgrade_code
                    .derive(&format!("bench:createfolder:{dir}"))
            )
        )?;
        components.push(id);
    }
    for &i in &folder.files {
        let file = &pkg.files[i];
        let id = format!("c_{}", file.key);
        // wixl 0.101 has no Component/@NeverOverwrite or @Permanent (listed by not_expressed).
        writeln!(
            w,
            r#"{pad}<Component Id="{id}" Guid="{}" Win64="yes">"#,
            bare(
                &pkg.product
                    .upgrade_code
                    .derive(&format!("bench:component:{}", file.key))
            )
        )?;
        let source = sources
            .get(&file.key)
            .with_context(|| format!("no source file for {}", file.key))?;
        writeln!(
            w,
            r#"{pad}  <File Id="{}" Name="{}" Source="{}" KeyPath="yes"/>"#,
            file.key,
            attr(&file.name),
            attr(&source.to_string_lossy())
        )?;
        if let Some(svc) = pkg.service.as_ref().filter(|s| s.exe == file.key) {
            writeln!(
                w,
                r#"{pad}  <ServiceInstall Id="svc" Name="{}" DisplayName="{}" Description="{}" Type="ownProcess" Start="auto" ErrorControl="normal" Arguments="{}" Vital="yes"/>"#,
                attr(&svc.name),
                attr(&svc.display_name),
                attr(&svc.description),
                attr(&svc.arguments)
            )?;
            writeln!(
                w,
                r#"{pad}  <ServiceControl Id="svcctl" Name="{}" Start="install" Stop="both" Remove="uninstall" Wait="{}"/>"#,
                attr(&svc.name),
                if svc.wait { "yes" } else { "no" }
            )?;
        }
        writeln!(w, "{pad}</Component>")?;
        components.push(id);
    }
    for (name, child) in &folder.children {
        *dir_ids += 1;
        writeln!(
            w,
            r#"{pad}<Directory Id="d{}" Name="{}">"#,
            dir_ids,
            attr(name)
        )?;
        write_folder(
            w,
            pkg,
            sources,
            child,
            indent + 1,
            dir_ids,
            components,
            None,
        )?;
        writeln!(w, "{pad}</Directory>")?;
    }
    Ok(())
}

//! Where runbooks come from: a path, a directory of installed ones (configured directories,
//! `~/.config/opsbook/runbooks`, `/etc/opsbook/runbooks`, first match wins), or the ones
//! shipped inside the binary (`runbooks/*.yaml` in the source tree).

use std::path::{Path, PathBuf};

use anyhow::bail;

/// The shipped runbooks, compiled in so an installed binary has them.
pub const SHIPPED: &[(&str, &str)] = &[
    ("morning", include_str!("../../runbooks/morning.yaml")),
    (
        "weekly-maintenance",
        include_str!("../../runbooks/weekly-maintenance.yaml"),
    ),
    (
        "disaster-recovery",
        include_str!("../../runbooks/disaster-recovery.yaml"),
    ),
    (
        "replica-setup",
        include_str!("../../runbooks/replica-setup.yaml"),
    ),
    ("afternoon", include_str!("../../runbooks/afternoon.yaml")),
    ("night", include_str!("../../runbooks/night.yaml")),
    ("monitor", include_str!("../../runbooks/monitor.yaml")),
    (
        "health-alert",
        include_str!("../../runbooks/health-alert.yaml"),
    ),
];

#[derive(Debug, Clone)]
pub struct Found {
    /// The name (file stem) it is listed under.
    pub name: String,
    /// For messages: a path, or `runbooks/NAME.yaml (shipped)`.
    pub origin: String,
    /// What finds it again: an absolute path, or the shipped name.
    pub reference: String,
    pub text: String,
    pub shipped: bool,
}

/// Directories searched for installed runbooks, first wins.
pub fn dirs(configured: &[PathBuf], home: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = configured.to_vec();
    if let Some(h) = home {
        out.push(h.join(".config/opsbook/runbooks"));
    }
    out.push(PathBuf::from("/etc/opsbook/runbooks"));
    out
}

fn is_path(target: &str) -> bool {
    target.contains('/') || target.ends_with(".yaml") || target.ends_with(".yml")
}

fn from_file(path: &Path) -> anyhow::Result<Found> {
    let text =
        crate::bounded_read::read_text(path, "runbook", crate::bounded_read::YAML_FILE_LIMIT)?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Found {
        name,
        origin: path.display().to_string(),
        reference: abs.display().to_string(),
        text,
        shipped: false,
    })
}

pub fn resolve(target: &str, dirs: &[PathBuf]) -> anyhow::Result<Found> {
    if is_path(target) {
        return from_file(Path::new(target));
    }
    for d in dirs {
        for ext in ["yaml", "yml"] {
            let p = d.join(format!("{target}.{ext}"));
            if p.is_file() {
                return from_file(&p);
            }
        }
    }
    if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == target) {
        return Ok(Found {
            name: name.to_string(),
            origin: format!("runbooks/{name}.yaml (shipped)"),
            reference: name.to_string(),
            text: text.to_string(),
            shipped: true,
        });
    }
    let known: Vec<String> = list(dirs).into_iter().map(|f| f.name).collect();
    bail!(
        "no runbook `{target}` (known: {})\nhint: `opsbook runbook list` shows them; a path to a .yaml file works too",
        known.join(", ")
    )
}

/// Installed runbooks first (a name found twice: the first directory wins), then the shipped
/// ones no installed runbook overrides.
pub fn list(dirs: &[PathBuf]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        for p in paths {
            if let Ok(f) = from_file(&p) {
                if !out.iter().any(|o| o.name == f.name) {
                    out.push(f);
                }
            }
        }
    }
    for (name, text) in SHIPPED {
        if !out.iter().any(|o| o.name == *name) {
            out.push(Found {
                name: name.to_string(),
                origin: format!("runbooks/{name}.yaml (shipped)"),
                reference: name.to_string(),
                text: text.to_string(),
                shipped: true,
            });
        }
    }
    out
}

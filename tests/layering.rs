//! The crate's imports point one way: main → cli → commands → domain modules → context →
//! state → clients → config → utilities (report, render, sql, redact, ...). This test reads
//! every source file's non-test code, finds what each top-level module imports from the others
//! (`crate::x`, `super::` chains that leave the module included) and fails on an import that
//! points up a layer, on a clap type named below `commands`, and on any import circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer; a module may import its own layer or lower ones. Modules of
/// one layer may import each other as long as no circle forms.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "cli" => 8,
        "commands" => 7,
        "completion" => 6,
        "probes" | "backup" | "replication" | "runbook" | "metrics" | "notify" | "sandbox"
        | "trends" | "demo" | "tuning" | "pitr" | "fleet" | "ha" => 5,
        "context" => 4,
        "state" => 3,
        "clients" => 2,
        "config" => 1,
        "report" | "render" | "timefmt" | "bounded_read" | "interrupt" | "confirm" | "sql"
        | "redact" | "passwd" | "process" | "progress" | "atomic_file" => 0,
        _ => return None,
    })
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The file's text without its `#[cfg(test)]` module(s) (tests may import anything).
fn non_test(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let t = line.trim();
        if skip_depth.is_none() && t == "#[cfg(test)]" {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            pending_cfg_test = false;
            if t.starts_with("mod ") || t.starts_with("pub mod ") {
                if t.ends_with(';') {
                    continue;
                }
                skip_depth = Some(depth);
            }
        }
        let opens = line.matches('{').count() as i32;
        let closes = line.matches('}').count() as i32;
        if skip_depth.is_none() {
            // Comments name modules in prose; only code counts.
            if !t.starts_with("//") {
                out.push_str(line);
                out.push('\n');
            }
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d && (opens > 0 || closes > 0) {
                skip_depth = None;
            }
        }
    }
    out
}

/// Top-level modules named after `crate::` (plain paths and `use crate::{a, b::c}` groups).
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    items.push(std::mem::take(&mut item));
                    break;
                }
                if c == ',' && depth == 1 {
                    items.push(std::mem::take(&mut item));
                } else {
                    item.push(c);
                }
            }
            for it in items {
                let name: String = it
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
    /// (file, module it imports) for messages.
    sites: Vec<(String, String, String)>,
    clap_users: Vec<String>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    files.sort();
    let mut g = Graph {
        edges: BTreeMap::new(),
        sites: Vec::new(),
        clap_users: Vec::new(),
    };
    for f in &files {
        let module = top_module(&src, f);
        if module == "main" || module == "lib" {
            continue;
        }
        let code = non_test(&std::fs::read_to_string(f).unwrap());
        let rel = f.strip_prefix(&src).unwrap().display().to_string();
        if code.contains("clap::") || code.contains("use clap") {
            g.clap_users.push(rel.clone());
        }
        for r in crate_refs(&code) {
            if r != module {
                g.edges.entry(module.clone()).or_default().insert(r.clone());
                g.sites.push((rel.clone(), module.clone(), r));
            }
        }
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.trim().strip_prefix("pub mod ") {
            let name = name.trim_end_matches(';');
            assert!(
                layer(name).is_some(),
                "src/{name}: a new top-level module needs a layer in tests/layering.rs (and a line in DESIGN.md's layout)"
            );
        }
    }
}

#[test]
fn imports_point_down() {
    let g = graph();
    let mut up = Vec::new();
    for (file, from, to) in &g.sites {
        let (Some(a), Some(b)) = (layer(from), layer(to)) else {
            continue;
        };
        if b > a {
            up.push(format!(
                "{file} ({from}, layer {a}) imports {to} (layer {b})"
            ));
        }
    }
    assert!(
        up.is_empty(),
        "imports that point up a layer:\n  {}",
        up.join("\n  ")
    );
}

#[test]
fn clap_stays_in_the_command_line() {
    let g = graph();
    let below: Vec<_> = g
        .clap_users
        .iter()
        .filter(|f| {
            !(f.starts_with("cli.rs")
                || f.starts_with("completion.rs")
                || f.starts_with("commands/"))
        })
        .collect();
    assert!(
        below.is_empty(),
        "clap named below the command modules: {below:?}"
    );
    let cli_users: Vec<_> = g
        .sites
        .iter()
        .filter(|(_, _, to)| to == "cli")
        .map(|(file, _, _)| file.clone())
        .collect();
    assert!(
        cli_users.is_empty(),
        "only main.rs may import cli: {cli_users:?}"
    );
}

#[test]
fn no_import_circle() {
    let g = graph();
    // Depth-first search for a back edge; report the circle.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.edges.keys() {
        if let Some(c) = visit(n, &g.edges, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_scanner_sees_grouped_imports_and_skips_tests() {
    let refs =
        crate_refs("use crate::{report::Finding, sql::{a, b}};\nlet x = crate::render::json(r);");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        vec!["render", "report", "sql"]
    );
    let code =
        non_test("use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::cli;\n}\nfn f() {}\n");
    assert!(code.contains("crate::a") && !code.contains("crate::cli") && code.contains("fn f"));
}

#[test]
fn every_command_is_found_by_its_name() {
    use clap::CommandFactory as _;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lost = Vec::new();
    for sub in opsbook::cli::Cli::command().get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let snake = name.replace('-', "_");
        let code = root.join(format!("src/commands/{snake}.rs"));
        let code_dir = root.join(format!("src/commands/{snake}/mod.rs"));
        if !code.is_file() && !code_dir.is_file() {
            lost.push(format!(
                "{name}: no src/commands/{snake}.rs or src/commands/{snake}/"
            ));
        }
        if sub.is_hide_set() {
            continue;
        }
        for path in [
            format!("commands/{name}.md"),
            format!("man/opsbook-{name}.1"),
        ] {
            if !root.join(&path).is_file() {
                lost.push(format!("{name}: no {path}"));
            }
        }
        let tests = std::fs::read_dir(root.join("tests/cli"))
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| {
                let f = e.file_name().to_string_lossy().into_owned();
                f.starts_with(&snake) || snake.starts_with(f.trim_end_matches(".rs"))
            });
        if !tests {
            lost.push(format!("{name}: no tests/cli/{snake}*.rs"));
        }
    }
    assert!(
        lost.is_empty(),
        "commands a newcomer cannot find by name:\n  {}",
        lost.join("\n  ")
    );
}

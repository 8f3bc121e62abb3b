//! Reference blocks of the pages that mirror a type: `config.md`'s every-key block and
//! `backup.md`'s manifest example.

use std::collections::BTreeSet;

use crate::pages;

/// The first fenced block of `lang` after `heading` on a page.
fn block_after(page: &str, heading: &str, lang: &str) -> String {
    let text = &pages()[page];
    let from = text
        .find(heading)
        .unwrap_or_else(|| panic!("{page} has no `{heading}`"));
    let fence = format!("```{lang}\n");
    let start = from
        + text[from..]
            .find(&fence)
            .unwrap_or_else(|| panic!("{page}: no ```{lang} block after `{heading}`"))
        + fence.len();
    let end = start + text[start..].find("```").expect("an unclosed block");
    text[start..end].to_string()
}

/// `a.b` paths of the mapping keys of `v`, `depth` levels deep.
fn key_paths(v: &serde_json::Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if let (Some(map), true) = (v.as_object(), depth > 0) {
        for (k, child) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            key_paths(child, &path, depth - 1, out);
        }
    }
}

#[test]
fn the_config_pages_every_key_block_is_every_key_and_a_valid_config() {
    let block = block_after("commands/config.md", "Every key, with its default", "yaml");
    opsbook::config::parse(&block, "commands/config.md's every-key block")
        .unwrap_or_else(|e| panic!("{e}"));
    let page: serde_json::Value = serde_saphyr::from_str(&block).expect("YAML");
    let defaults =
        serde_json::to_value(opsbook::config::Config::default()).expect("the default config");
    let (mut on_page, mut in_code) = (BTreeSet::new(), BTreeSet::new());
    key_paths(&page, "", 2, &mut on_page);
    key_paths(&defaults, "", 2, &mut in_code);
    // Below `bench.queries` the keys are the operator's own query names.
    on_page.retain(|k| !k.starts_with("bench.queries."));
    let missing: Vec<&String> = in_code.difference(&on_page).collect();
    assert!(
        missing.is_empty(),
        "config keys missing from commands/config.md's every-key block: {missing:?}"
    );
}

#[test]
fn the_backup_pages_manifest_example_is_a_manifest_as_opsbook_writes_it() {
    let block = block_after("commands/backup.md", "## The manifest", "json");
    let example: serde_json::Value = serde_json::from_str(&block).expect("JSON");
    let m: opsbook::backup::manifest::Manifest =
        serde_json::from_value(example.clone()).expect("the example reads as a Manifest");
    let written = serde_json::to_value(&m).expect("serialize");
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&example),
        keys(&written),
        "the example's fields are the manifest's"
    );
    // `pg_dump_version` is the version number (`tools::tool_version`), as `server_version`
    // starts with one.
    let v = &m.pg_dump_version;
    assert!(
        !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "pg_dump_version {v:?} is not a version number"
    );
    assert!(m.server_version.starts_with(v.as_str()));
    assert!(m.id.ends_with(&m.archive[..16]) && m.id.starts_with(&m.database));
}

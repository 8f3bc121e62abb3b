//! How a config error reads: `ConfigError` (exit 3), the `file:line:column` of a value with
//! its source line and a caret, and the YAML parser's errors in the operator's words.

use crate::redact::mask_urls_in;

/// The text being parsed and the name errors give it (a path, or "shown").
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// A config error at a position a value was read from: `name:line:column: what`, the source
/// line with a caret under the value (as serde-saphyr shows its own errors), then the hint.
pub fn located_error(
    origin: Origin<'_>,
    at: &serde_saphyr::Location,
    what: &str,
    hint: &str,
) -> ConfigError {
    let (line, column) = (at.line() as usize, at.column() as usize);
    let Some(source) = line
        .checked_sub(1)
        .and_then(|i| origin.text.lines().nth(i))
        .map(mask_urls_in)
    else {
        return ConfigError {
            message: format!("invalid config {}: {what}\nhint: {hint}", origin.name),
        };
    };
    let place = format!("{}:{line}:{column}", origin.name);
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    let caret = " ".repeat(column.saturating_sub(1));
    ConfigError {
        message: format!(
            "invalid config {place}: {what}\n{pad}--> {place}\n{pad} |\n{line} | {source}\n{pad} | {caret}^\nhint: {hint}"
        ),
    }
}

/// A config error an operator caused: exit 3 with the location and a hint.
#[derive(Debug)]
pub struct ConfigError {
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

pub fn yaml_error_parts(e: &serde_saphyr::Error, origin: &str) -> (String, String, Vec<String>) {
    let at = match e.location() {
        Some(l) => format!("{origin}:{}:{}", l.line(), l.column()),
        None => origin.to_string(),
    };
    let rendered = e.to_string().replace("<input>", origin);
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    let library = first
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(pre, _)| pre.starts_with("line "))
        .map(|(_, msg)| msg.to_string())
        .unwrap_or_else(|| first.trim_start_matches("error: ").to_string());
    match operator_words(e) {
        // The snippet repeats the message under its caret: the operator's words there too.
        Some(ours) => (
            at,
            ours.clone(),
            lines.map(|l| l.replace(&library, &ours)).collect(),
        ),
        None => (at, library, lines.map(str::to_string).collect()),
    }
}

/// The parser's errors that speak of its own API ("set DuplicateKeyPolicy in Options",
/// "budget breached: Nodes { nodes: 250001 }"), said to the operator instead.
fn operator_words(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error;
    let limits = serde_saphyr::Budget::default();
    let too_big = |what: String| {
        format!("the file is too large or complex for opsbook: {what}; is this the right file?")
    };
    Some(match e.without_snippet() {
        Error::DuplicateMappingKey { key: Some(k), .. } => {
            format!("duplicate key `{k}`: write each key once")
        }
        Error::DuplicateMappingKey { key: None, .. } => {
            "duplicate key: write each key once".to_string()
        }
        Error::MultipleDocuments { .. } => {
            "more than one YAML document (a `---` line in the middle): the file holds one"
                .to_string()
        }
        Error::Budget { breach, .. } => too_big(match breach {
            BudgetBreach::Nodes { nodes } => {
                format!("{nodes} nodes over the limit of {}", limits.max_nodes)
            }
            BudgetBreach::Events { events } => {
                format!(
                    "{events} YAML events over the limit of {}",
                    limits.max_events
                )
            }
            BudgetBreach::Depth { depth } => {
                format!(
                    "nested {depth} levels deep, over the limit of {}",
                    limits.max_depth
                )
            }
            BudgetBreach::Aliases { aliases } => {
                format!("{aliases} aliases over the limit of {}", limits.max_aliases)
            }
            BudgetBreach::Anchors { anchors } => {
                format!("{anchors} anchors over the limit of {}", limits.max_anchors)
            }
            BudgetBreach::Documents { documents } => {
                format!(
                    "{documents} documents over the limit of {}",
                    limits.max_documents
                )
            }
            BudgetBreach::ScalarBytes { total_scalar_bytes } => format!(
                "{total_scalar_bytes} bytes of values over the limit of {}",
                limits.max_total_scalar_bytes
            ),
            _ => "over one of the YAML parser's size limits".to_string(),
        }),
        Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => {
            too_big("aliases (`*name`) expand to too much".to_string())
        }
        _ => return None,
    })
}

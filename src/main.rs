//! Parse, run, render, exit: nothing else.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

use clap::Parser as _;

use opsbook::cli::{Cli, Command};
use opsbook::config::{self, Config, Source};
use opsbook::context::{process_env, Ctx};
use opsbook::render::{self, Style};
use opsbook::report::{Report, Status};

const UNKNOWN: u8 = 3;

/// The `--format` asked for, read from argv before clap parses it: a plugin must print one
/// status line, and a JSON or Prometheus reader one valid document, also when the parse itself
/// fails (a wrong flag) or the run errors (a bad config, a server down for a command that
/// needs it). 0 table, 1 json, 2 prometheus, 3 nagios.
static FORMAT: AtomicU8 = AtomicU8::new(0);
/// The command's name (`check morning`) once clap has parsed it, and its `--textfile`: an
/// error document names the command, and a textfile says the run failed instead of going stale.
static RUN: Mutex<Option<(String, Option<std::path::PathBuf>)>> = Mutex::new(None);
/// The report is on stdout already: an error after that (writing the --textfile) must not
/// add a second status line.
static PRINTED: AtomicBool = AtomicBool::new(false);

fn format_code(value: &str) -> u8 {
    match value {
        "json" => 1,
        "prometheus" => 2,
        "nagios" => 3,
        _ => 0,
    }
}

fn wanted_format(args: impl Iterator<Item = std::ffi::OsString>) -> u8 {
    let mut next_is_format = false;
    let mut format = 0;
    for arg in args {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if next_is_format {
            format = format_code(&arg);
            next_is_format = false;
        } else if arg == "--format" {
            next_is_format = true;
        } else if let Some(v) = arg.strip_prefix("--format=") {
            format = format_code(v);
        }
    }
    format
}

/// The report of a run that could not run at all: UNKNOWN, no findings, and the error in
/// `data.error` (`message`, `hints`), so `--format json` is still one opsbook.report/v1
/// document and `--format prometheus` still says `opsbook_run_status ... 3`.
fn error_report(command: &str, message: &str, hints: &[String]) -> Report {
    let mut r = Report::new(command);
    r.status = Status::Unknown;
    r.data = Some(serde_json::json!({
        "error": {"message": message, "hints": hints}
    }));
    r
}

/// On stdout, in the format asked for, the one document that says opsbook could not run:
/// `OPSBOOK UNKNOWN: <message>` for nagios, the error report for json and prometheus (nothing
/// for the table: stderr has the error). With --textfile, the textfile says so too.
fn error_document(message: &str, hints: &[String]) {
    let (command, textfile) = RUN
        .lock()
        .ok()
        .and_then(|r| r.clone())
        .unwrap_or_else(|| ("opsbook".to_string(), None));
    let report = error_report(&command, message, hints);
    if let Some(path) = &textfile {
        let _ = render::write_textfile(path, &report);
    }
    let text = match FORMAT.load(Ordering::Relaxed) {
        1 => render::json(&report),
        2 => render::prometheus(&report),
        3 => render::nagios_unknown(message),
        _ => return,
    };
    if !PRINTED.swap(true, Ordering::Relaxed) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

fn main() -> ExitCode {
    FORMAT.store(
        wanted_format(std::env::args_os().skip(1)),
        Ordering::Relaxed,
    );
    install_panic_hook();
    // A file-size limit (ulimit -f) must give a write error we can explain and clean up
    // after, not kill us mid-backup with a partial file left behind.
    // SAFETY: setting a signal disposition to SIG_IGN before any thread starts.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    // `COMPLETE=<shell> opsbook -- ...` answers a TAB (completions --dynamic) and exits.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .bin("opsbook")
        .completer("opsbook")
        .complete();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors; every usage error is UNKNOWN (3).
            let code = if e.use_stderr() { UNKNOWN } else { 0 };
            if e.use_stderr() {
                // clap's first line is the error; the rest is usage and tips.
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("usage error");
                error_document(first.strip_prefix("error: ").unwrap_or(first), &[]);
            }
            if e.kind() == clap::error::ErrorKind::DisplayHelp {
                let args: Vec<String> = std::env::args_os()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                if let Some(help) = opsbook::cli::help_for(&args) {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(help.as_bytes()).and_then(|_| out.flush());
                    return ExitCode::from(0);
                }
            }
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                let path = command_path(std::env::args_os().skip(1));
                let text = usage_error(&e.render().to_string(), &path);
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            } else {
                // --help, --version, and a command given without its subcommand: clap's text.
                let _ = e.print();
            }
            return ExitCode::from(code);
        }
    };
    if let Ok(mut r) = RUN.lock() {
        *r = Some((cli.command.name(), cli.global.textfile.clone()));
    }
    match on_a_big_stack(move || run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            error_document(&error_line(&e), &hints(&e));
            print_error(&e);
            ExitCode::from(UNKNOWN)
        }
    }
}

/// The command words of argv (`check morning`), found by walking the clap tree: what the
/// `--help` hint of a usage error names.
fn command_path(args: impl Iterator<Item = std::ffi::OsString>) -> String {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut path = vec!["opsbook".to_string()];
    for arg in args {
        let arg = arg.to_string_lossy().into_owned();
        if arg == "--" {
            break;
        }
        let Some(sub) = cmd.find_subcommand(&arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    path.join(" ")
}

/// clap's usage error as the commands' errors read (commands/mod.md): one `error:` line, then
/// `hint:` lines (clap's tips, the usage, where the help is), instead of clap's block.
fn usage_error(clap_text: &str, path: &str) -> String {
    let mut error = String::new();
    let mut hints = Vec::new();
    let mut in_usage = false;
    for line in clap_text.lines() {
        let trimmed = line.trim();
        if let Some(first) = line.strip_prefix("error: ") {
            error = first.trim().to_string();
        } else if let Some(tip) = trimmed.strip_prefix("tip: ") {
            hints.push(tip.to_string());
        } else if let Some(usage) = trimmed.strip_prefix("Usage: ") {
            hints.push(format!("usage: {usage}"));
            in_usage = true;
        } else if trimmed.is_empty() || trimmed.starts_with("For more information") {
            in_usage = false;
        } else if in_usage {
            // A second usage form: `opsbook backup <COMMAND>`.
            hints.push(format!("usage: {trimmed}"));
        } else if !error.is_empty() && hints.is_empty() {
            // The rest of the error (`  <PATH>`, `  [possible values: ...]`).
            error.push(' ');
            error.push_str(trimmed);
        }
    }
    if error.is_empty() {
        error = "invalid command line".to_string();
    }
    let mut out = format!("error: {error}\n");
    for h in hints {
        out.push_str(&format!("hint: {h}\n"));
    }
    out.push_str(&format!("hint: see `{path} --help`\n"));
    out
}

/// A runbook runs its steps in-process, a nested runbook being one more boxed future polled on
/// the same stack: a debug build needs about 1 MiB per level, and the main thread's 8 MiB
/// overflowed at 8 levels (SIGABRT). The command runs on a thread with room for
/// `runbook::model::MAX_NESTING` levels and the deepest command below them (only touched pages
/// are ever committed).
fn on_a_big_stack(
    work: impl FnOnce() -> anyhow::Result<u8> + Send + 'static,
) -> anyhow::Result<u8> {
    const STACK: usize = 64 * 1024 * 1024;
    std::thread::Builder::new()
        .name("opsbook".to_string())
        .stack_size(STACK)
        .spawn(work)
        .map_err(|e| anyhow::anyhow!("starting the command's thread: {e}"))?
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the command's thread ended in a panic")))
}

fn needs_config(cmd: &Command) -> bool {
    match cmd {
        Command::Config(a) => a.needs_config(),
        other => other.needs_config(),
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let (cfg, source) = if needs_config(&cli.command) {
        let (cfg, source) = config::load(cli.global.config.as_deref(), &process_env)?;
        cfg.validate()?;
        (cfg, source)
    } else {
        (Config::default(), Source::Defaults)
    };
    let output = cli.global.output();
    let ctx = Ctx::new(cfg, source, output.clone(), cli.overrides());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    let mut report = runtime.block_on(opsbook::cli::dispatch(&cli.command, &ctx))?;
    if report.duration_ms == 0 {
        report.duration_ms = started.elapsed().as_millis() as u64;
    }
    let stdout = std::io::stdout();
    let style = Style::for_stdout(&output);
    // A command's text form (sandbox env, completions) replaces the table; --format json
    // still gets the report with its data.
    PRINTED.store(true, Ordering::Relaxed);
    if !report.shown {
        let text = render::render(&report, output.format, style);
        let mut out = stdout.lock();
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            // `opsbook ... | head` closes the pipe early: not an error worth a message.
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(anyhow::Error::from(e).context("writing the report to stdout"));
            }
        }
    }
    if let Some(path) = &output.textfile {
        render::write_textfile(path, &report)?;
    }
    drop(ctx);
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(report.status.exit_code() as u8)
}

/// A panic is a bug in opsbook, never the operator's fault: one line saying so and where,
/// no backtrace, and UNKNOWN (3) so cron and Nagios never read it as OK.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error_document(
            &format!("internal error in opsbook{at}: {msg}"),
            &["this is a bug; please report it with the command you ran".to_string()],
        );
        eprintln!("error: internal error in opsbook{at}: {msg}");
        eprintln!("hint: this is a bug; please report it with the command you ran");
        std::process::exit(i32::from(UNKNOWN));
    }));
}

/// An error chain on one line without its hints: "what failed: because".
fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        for line in cause.to_string().lines() {
            let line = line.trim();
            if !line.is_empty()
                && !line.starts_with("hint: ")
                && !parts.iter().any(|p| p.contains(line))
            {
                parts.push(line.to_string());
            }
        }
    }
    parts.join(": ")
}

/// The `hint:` lines an error chain carries.
fn hints(e: &anyhow::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for cause in e.chain() {
        for line in cause.to_string().lines() {
            if let Some(h) = line.strip_prefix("hint: ") {
                if !out.iter().any(|o| o == h) {
                    out.push(h.to_string());
                }
            }
        }
    }
    out
}

/// cargo-style: `error: what`, `Caused by:` lines, then the `hint:` lines an error carries.
fn print_error(e: &anyhow::Error) {
    let mut hints = Vec::new();
    let mut lines = Vec::new();
    for cause in e.chain() {
        for (i, line) in cause.to_string().lines().enumerate() {
            if let Some(h) = line.strip_prefix("hint: ") {
                hints.push(h.to_string());
            } else if i == 0 {
                lines.push(line.to_string());
            } else {
                lines.push(format!("  {line}"));
            }
        }
    }
    let mut err = std::io::stderr().lock();
    let mut first = true;
    for line in lines.iter() {
        if first {
            let _ = writeln!(err, "error: {line}");
            first = false;
        } else if line.starts_with("  ") {
            let _ = writeln!(err, "{line}");
        } else {
            let _ = writeln!(err, "Caused by: {line}");
        }
    }
    for h in hints {
        let _ = writeln!(err, "hint: {h}");
    }
}

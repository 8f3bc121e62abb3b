//! The one gate in front of destructive work (restore, retention, terminating a backend): the
//! plan first (on stderr), then a typed answer on a terminal, or `--yes` when nobody is there
//! to type it. Prompts go to stderr, so stdout stays the report.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{anyhow, bail};

/// Both ends an operator needs: keys in on stdin, prompts out on stderr.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Set by [`on_sigint`] while a prompt is open.
static CANCELLED: AtomicBool = AtomicBool::new(false);
/// The SIGINT action in place before the prompt (tokio's, when an `Interrupt` is installed).
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
static PREVIOUS_SIGINFO: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    CANCELLED.store(true, Ordering::SeqCst);
    // Chain to the handler that was there (an installed `Interrupt` must hear it too).
    let prev = PREVIOUS.load(Ordering::SeqCst);
    if prev != libc::SIG_DFL && prev != libc::SIG_IGN {
        // SAFETY: `prev` is the address of the handler sigaction reported, of the kind
        // SA_SIGINFO says.
        unsafe {
            if PREVIOUS_SIGINFO.load(Ordering::SeqCst) {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(prev);
                f(sig, info, uctx);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev);
                f(sig);
            }
        }
    }
}

/// Run a terminal prompt with Ctrl-C turned into a clean cancel. On a key press of Ctrl-C the
/// terminal library restores the terminal and raises SIGINT at us, which by default kills the
/// process (exit 130, no message, nothing said about what happened). Here the signal is caught
/// for the prompt's duration and becomes the error `{what}: cancelled at the confirmation
/// prompt: nothing was changed` (exit 3, like any answer that is not a yes).
pub fn cancellable<T>(
    what: &str,
    prompt: impl FnOnce() -> dialoguer::Result<T>,
) -> anyhow::Result<T> {
    CANCELLED.store(false, Ordering::SeqCst);
    // SAFETY: plain sigaction calls with zeroed, then filled, structures.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let installed = unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = on_sigint as *const () as usize;
        new.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut new.sa_mask);
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0 && {
            PREVIOUS.store(old.sa_sigaction, Ordering::SeqCst);
            PREVIOUS_SIGINFO.store(old.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
            libc::sigaction(libc::SIGINT, &new, std::ptr::null_mut()) == 0
        }
    };
    let answer = prompt();
    if installed {
        // SAFETY: putting back the action read above.
        unsafe { libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut()) };
    }
    match answer {
        Ok(v) if !CANCELLED.load(Ordering::SeqCst) => Ok(v),
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            eprintln!();
            bail!("{what}: cancelled at the confirmation prompt: nothing was changed")
        }
        Ok(_) => {
            eprintln!();
            bail!("{what}: cancelled at the confirmation prompt: nothing was changed")
        }
        Err(e) => Err(anyhow!("{what}: reading the answer on the terminal: {e}")),
    }
}

/// Ask for `expected` to be typed; Err unless it was.
fn ask(expected: &str, what: &str) -> anyhow::Result<()> {
    let answer: String = cancellable(what, || {
        dialoguer::Input::new()
            .with_prompt(format!(
                "Type `{expected}` to go ahead (anything else aborts)"
            ))
            .allow_empty(true)
            .report(false)
            .interact_text()
    })?;
    if answer.trim() != expected {
        bail!(
            "{what}: aborted: typed `{}` instead of `{expected}`; nothing was changed",
            answer.trim()
        );
    }
    Ok(())
}

/// Proceed only when the operator typed `expected` (on a TTY) or passed `--yes`.
/// `action` names what would happen ("restore app/... over database app"); `plan` its steps.
pub fn typed(action: &str, plan: &[String], expected: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive() {
        bail!(
            "{action}: refusing without confirmation; nothing was changed\nhint: run it on a terminal to confirm by typing `{expected}`, or pass --yes (cron, scripts)"
        );
    }
    eprintln!("{action}. The plan:");
    for (i, step) in plan.iter().enumerate() {
        eprintln!("  {}. {step}", i + 1);
    }
    ask(expected, action)
}

/// The same gate for a plan already written as text: print it, then `--yes` or the typed word.
pub async fn confirm(plan: &str, expected: &str, yes: bool, flag_hint: &str) -> anyhow::Result<()> {
    eprintln!("{plan}");
    if yes {
        return Ok(());
    }
    if !interactive() {
        bail!(
            "refusing to act without confirmation: stdin is not a terminal and --yes was not given\nhint: review the plan above, then run again with --yes ({flag_hint})"
        );
    }
    let expected = expected.to_string();
    // The prompt blocks on the terminal; keep it off the async runtime's thread.
    tokio::task::spawn_blocking(move || ask(&expected, "not confirmed"))
        .await
        .map_err(|e| anyhow!("asking for confirmation: {e}"))?
}

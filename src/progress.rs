//! One status line for a phase that may take more than a second: a spinner, what is being
//! done and how long it has taken so far, redrawn in place on stderr (cargo's "Compiling ..."
//! line). Shown only where [`render::show_progress`] allows (stderr a terminal, no
//! `--no-color` / `NO_COLOR`, not `-q`): on a pipe or in cron nothing is drawn at all.
//!
//! Every command with a silent wait (`bench --generate`, the phases of `restore`, the restore
//! test, the standby's base backup) uses this one helper, so they look alike and obey the same
//! rules; a phase is cleared when it is dropped, so an early `?` never leaves a line behind.
//!
//! [`render::show_progress`]: crate::render::show_progress

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::render::{show_progress, Output};

/// The line's layout: spinner, the phase, its elapsed time.
const TEMPLATE: &str = "{spinner} {msg} ({elapsed})";

/// A running phase; the line disappears when it is finished or dropped.
pub struct Phase {
    bar: Option<ProgressBar>,
}

impl Phase {
    /// Start a phase named `what` ("generating 50000 users"), shown if `output` allows.
    pub fn start(output: &Output, what: impl Into<String>) -> Phase {
        Phase::start_if(show_progress(output), what)
    }

    /// Start a phase whose caller has already decided whether to show it (a domain function
    /// handed a `progress: bool`).
    pub fn start_if(show: bool, what: impl Into<String>) -> Phase {
        Phase::drawn_to(show.then(|| ProgressDrawTarget::stderr_with_hz(10)), what)
    }

    fn drawn_to(target: Option<ProgressDrawTarget>, what: impl Into<String>) -> Phase {
        let bar = target.map(|t| {
            let pb = ProgressBar::with_draw_target(None, t);
            pb.set_style(
                ProgressStyle::with_template(TEMPLATE)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.set_message(what.into());
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        });
        Phase { bar }
    }

    /// Whether anything is drawn (false on a pipe, with -q, NO_COLOR or --no-color).
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// Move on to the next phase on the same line.
    pub fn next(&self, what: impl Into<String>) {
        if let Some(pb) = &self.bar {
            pb.set_message(what.into());
            pb.reset_elapsed();
        }
    }

    /// The phase is over: clear its line.
    pub fn finish(self) {}
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_when_quiet_or_told_not_to() {
        let quiet = Output {
            quiet: true,
            ..Output::default()
        };
        assert!(!Phase::start(&quiet, "x").is_shown());
        assert!(!Phase::start_if(false, "x").is_shown());
    }

    /// A terminal that keeps the line it was last given (what a person would see).
    #[derive(Debug, Clone, Default)]
    struct Line(std::sync::Arc<std::sync::Mutex<String>>);

    impl Line {
        fn text(&self) -> String {
            self.0.lock().map(|l| l.clone()).unwrap_or_default()
        }
    }

    impl indicatif::TermLike for Line {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if let Ok(mut l) = self.0.lock() {
                l.push_str(s);
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            if let Ok(mut l) = self.0.lock() {
                l.clear();
            }
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_shown_phase_names_what_it_does_and_clears_its_line() {
        let term = Line::default();
        let p = Phase::drawn_to(
            Some(ProgressDrawTarget::term_like(Box::new(term.clone()))),
            "generating 1000 users",
        );
        assert!(p.is_shown());
        if let Some(pb) = &p.bar {
            pb.tick();
        }
        let line = term.text();
        assert!(line.contains("generating 1000 users ("), "{line:?}");
        p.next("analysing the tables");
        if let Some(pb) = &p.bar {
            pb.tick();
        }
        assert!(
            term.text().contains("analysing the tables"),
            "{:?}",
            term.text()
        );
        p.finish();
        assert_eq!(term.text().trim(), "", "the line is cleared");
    }
}

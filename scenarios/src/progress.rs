//! Progress bars on stderr for long runs; silent when asked to be (tests, `--quiet`) or when
//! stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether long-running work shows a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars drawn on stderr (indicatif hides them itself when stderr is not a terminal).
    pub fn visible() -> Self {
        Progress { visible: true }
    }

    /// No bars at all.
    pub fn hidden() -> Self {
        Progress { visible: false }
    }

    /// A bar over `len` items of `unit`.
    pub fn bar(&self, len: u64, unit: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}})"
        );
        bar.set_style(
            ProgressStyle::with_template(&template)
                .expect("static template")
                .progress_chars("=> "),
        );
        bar
    }
}

impl scrub_core::experiment::Progress for Progress {
    fn start(&self, len: u64, label: &str) -> Box<dyn scrub_core::experiment::Bar + '_> {
        Box::new(Bar(self.bar(len, label)))
    }
}

/// An indicatif bar as the pipeline's [`scrub_core::experiment::Bar`].
struct Bar(ProgressBar);

impl scrub_core::experiment::Bar for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n)
    }

    fn set(&self, pos: u64, len: u64) {
        self.0.set_length(len);
        self.0.set_position(pos);
    }

    fn finish(&self) {
        self.0.finish_and_clear()
    }
}

//! Per-target log loss and correctness from logits, computed so that tiny losses (the paren
//! model's are ~1e-6) do not vanish in f32 cancellation.

use serde::Serialize;

/// Loss and correctness of one readout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetOutcome {
    /// −log softmax(logits)[label].
    pub loss: f32,
    /// Whether the label is the (first) arg-max of the logits.
    pub correct: bool,
}

/// −log softmax(logits)[label] as `(m − l_y) + log1p(Σ_{j≠j*} exp(l_j − m))`, where j* is the
/// arg-max and m its logit; this keeps full relative precision when the loss is near zero.
pub fn target_outcome(logits: &[f32], label: usize) -> TargetOutcome {
    let (jstar, m) =
        logits
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |acc, (j, l)| if l > acc.1 { (j, l) } else { acc },
            );
    let rest: f32 = logits
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != jstar)
        .map(|(_, &l)| (l - m).exp())
        .sum();
    TargetOutcome {
        loss: (m - logits[label]) + rest.ln_1p(),
        correct: jstar == label,
    }
}

/// Summary of many outcomes: mean loss with its standard error, and accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossSummary {
    pub n: usize,
    pub loss: f64,
    pub stderr: f64,
    pub accuracy: f64,
    pub errors: usize,
}

impl LossSummary {
    /// Mean and standard error (of the mean) of the losses, accuracy of the predictions.
    pub fn from_outcomes(outcomes: &[TargetOutcome]) -> Self {
        let n = outcomes.len();
        let nf = n.max(1) as f64;
        let mean = outcomes.iter().map(|o| o.loss as f64).sum::<f64>() / nf;
        let var = if n > 1 {
            outcomes
                .iter()
                .map(|o| (o.loss as f64 - mean).powi(2))
                .sum::<f64>()
                / (nf - 1.0)
        } else {
            0.0
        };
        let errors = outcomes.iter().filter(|o| !o.correct).count();
        LossSummary {
            n,
            loss: mean,
            stderr: (var / nf).sqrt(),
            accuracy: (n - errors) as f64 / nf,
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(logits: &[f64], y: usize) -> f64 {
        let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + logits.iter().map(|l| (l - m).exp()).sum::<f64>().ln();
        lse - logits[y]
    }

    #[test]
    fn matches_f64_log_softmax_including_tiny_losses() {
        for logits in [[-8.0f32, 8.0], [3.0, -1.5], [0.0, 0.0], [20.0, -20.0]] {
            for y in 0..2 {
                let got = target_outcome(&logits, y).loss as f64;
                let want = naive(&[logits[0] as f64, logits[1] as f64], y);
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs().max(1e-30) + 1e-7,
                    "{logits:?} {y}: {got} vs {want}"
                );
            }
        }
        // The tiny case must keep its relative precision, not collapse to 0.
        let tiny = target_outcome(&[-8.0, 8.0], 1).loss as f64;
        assert!((tiny / naive(&[-8.0, 8.0], 1) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn summary_counts_errors_and_stderr() {
        let o = [
            TargetOutcome {
                loss: 1.0,
                correct: true,
            },
            TargetOutcome {
                loss: 3.0,
                correct: false,
            },
        ];
        let s = LossSummary::from_outcomes(&o);
        assert_eq!((s.n, s.errors), (2, 1));
        assert!(
            (s.loss - 2.0).abs() < 1e-12
                && (s.stderr - 1.0).abs() < 1e-12
                && (s.accuracy - 0.5).abs() < 1e-12
        );
    }
}

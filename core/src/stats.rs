//! Mean, standard error and % loss recovered: the one place the numbers of every report
//! are computed, so a run, a table and an attack never disagree on what a figure means.

use serde::Serialize;

/// Fewest samples any estimate is made from: a standard error needs two.
pub const MIN_SAMPLES: usize = 2;

/// How many paired standard errors the baselines' gap must exceed for % recovered to mean
/// anything: below it, the ratio divides by what may be noise.
pub const GAP_STDERRS: f64 = 3.0;

/// Why a statistic could not be formed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{what}: {got} sample(s) given, at least {MIN_SAMPLES} are needed (a standard error needs two)")]
    TooFewSamples { what: String, got: usize },
    #[error("{what}: the two sides have {left} and {right} samples; paired differences need the same samples")]
    Unpaired {
        what: String,
        left: usize,
        right: usize,
    },
}

/// A mean with the standard error of the mean, over `n` values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub stderr: f64,
    pub n: usize,
}

impl Estimate {
    /// Mean and standard error (sample standard deviation / √n) of `xs`; `what` names the
    /// quantity in the error when there are fewer than two values.
    pub fn of(xs: &[f64], what: &str) -> Result<Estimate, StatsError> {
        let n = xs.len();
        if n < MIN_SAMPLES {
            return Err(StatsError::TooFewSamples {
                what: what.to_string(),
                got: n,
            });
        }
        let nf = n as f64;
        let mean = xs.iter().sum::<f64>() / nf;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
        Ok(Estimate {
            mean,
            stderr: (var / nf).sqrt(),
            n,
        })
    }

    /// The mean of `after[i] − before[i]` with its paired standard error.
    pub fn paired(before: &[f64], after: &[f64], what: &str) -> Result<Estimate, StatsError> {
        if before.len() != after.len() {
            return Err(StatsError::Unpaired {
                what: what.to_string(),
                left: before.len(),
                right: after.len(),
            });
        }
        let d: Vec<f64> = before.iter().zip(after).map(|(b, a)| a - b).collect();
        Estimate::of(&d, what)
    }
}

/// Why % loss recovered is undefined for a pair of baselines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, thiserror::Error)]
#[error("% loss recovered is undefined: the baselines' gap L_high − L_low = {gap:.6} ± {stderr:.6} is not clearly positive (it must exceed {GAP_STDERRS} paired standard errors); on this pool the fully scrubbed tree does not lose clearly more than the model (a pool of one class, or too few distinct data, does this)")]
pub struct UndefinedRecovery {
    pub gap: f64,
    pub stderr: f64,
}

/// The two reference losses % recovered is measured between, on the same samples: `low`
/// counts as 100% (the model, or 0a), `high` as 0% (everything resampled, or 0b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baselines {
    pub low: Estimate,
    pub high: Estimate,
    /// `high − low` per sample: its standard error is the one that decides whether the
    /// range is real.
    pub gap: Estimate,
}

impl Baselines {
    /// Baselines from per-sample losses of the two reference trees on paired samples.
    pub fn from_paired(low: &[f64], high: &[f64]) -> Result<Baselines, StatsError> {
        Ok(Baselines {
            low: Estimate::of(low, "the 100%-recovered baseline's loss")?,
            high: Estimate::of(high, "the 0%-recovered baseline's loss")?,
            gap: Estimate::paired(low, high, "the baselines' gap")?,
        })
    }

    /// `(L_low, L_high)` when the gap is clearly positive, else why not.
    pub fn range(&self) -> Result<(f64, f64), UndefinedRecovery> {
        let g = self.gap;
        if g.mean.is_finite() && g.mean > 0.0 && g.mean > GAP_STDERRS * g.stderr {
            Ok((self.low.mean, self.high.mean))
        } else {
            Err(UndefinedRecovery {
                gap: g.mean,
                stderr: g.stderr,
            })
        }
    }

    /// % loss recovered of `loss`, or `None` when the range is not clearly positive.
    pub fn pct_recovered(&self, loss: f64) -> Option<f64> {
        self.range()
            .ok()
            .map(|(lo, hi)| pct_recovered(loss, lo, hi))
    }
}

/// % loss recovered = (L_high − L) / (L_high − L_low), as a percentage, for a range already
/// known to be clearly positive (see [`Baselines::range`]).
pub fn pct_recovered(loss: f64, low: f64, high: f64) -> f64 {
    100.0 * (high - loss) / (high - low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_has_no_standard_error() {
        let e = Estimate::of(&[1.0], "loss").unwrap_err();
        assert!(e.to_string().contains("at least 2"), "{e}");
        assert!(Estimate::of(&[], "loss").is_err());
    }

    #[test]
    fn mean_and_stderr_match_the_textbook() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0], "x").unwrap();
        assert_eq!(e.mean, 2.5);
        // sample variance 5/3, over n = 4
        assert!((e.stderr - (5.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn paired_differences_cancel_shared_noise() {
        let a = [1.0, 5.0, 9.0, 2.0];
        let b = [1.5, 5.5, 9.5, 2.5];
        let d = Estimate::paired(&a, &b, "d").unwrap();
        assert!((d.mean - 0.5).abs() < 1e-12);
        assert!(d.stderr < 1e-12);
        assert!(Estimate::paired(&a, &b[..3], "d").is_err());
    }

    #[test]
    fn a_clear_gap_defines_pct_recovered() {
        let b = Baselines::from_paired(&[0.0, 0.1, 0.0, 0.1], &[4.0, 4.2, 3.9, 4.1]).unwrap();
        let pct = b.pct_recovered(2.05).unwrap();
        assert!((pct - 50.0).abs() < 1.0, "{pct}");
    }

    #[test]
    fn a_gap_within_noise_leaves_pct_recovered_undefined() {
        // The "fully scrubbed" loss is sometimes lower, sometimes higher: no range.
        let low = [1.0, 1.0, 1.0, 1.0];
        let high = [0.5, 1.6, 0.7, 1.4];
        let b = Baselines::from_paired(&low, &high).unwrap();
        let e = b.range().unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
        assert_eq!(b.pct_recovered(1.0), None);
        // Reversed baselines (0b below 0a) are undefined too.
        let r = Baselines::from_paired(&[2.0, 2.1, 2.0], &[1.0, 1.1, 1.0]).unwrap();
        assert!(r.range().is_err());
        // And identical ones (zero gap, zero error).
        let z = Baselines::from_paired(&[1.0, 1.0], &[1.0, 1.0]).unwrap();
        assert!(z.range().is_err());
    }
}

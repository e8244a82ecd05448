//! Reproducing the write-up's class balance. Its random dataset was 26% balanced; the shipped
//! file is 46% balanced, which changes every score that averages over reference data (the
//! randomised baseline above all). Keeping every unbalanced sequence and a seeded uniform
//! subset of the balanced ones restores the original proportion without inventing data.

use rand::rngs::StdRng;
use rand::SeedableRng;
use scrub_core::DatumId;

use super::ParenDataset;
use crate::error::ScenarioError;

/// Balanced fraction of the write-up's random dataset (its appendix, "Data set details").
pub const WRITE_UP_BALANCED_FRACTION: f64 = 0.26;

/// Every unbalanced datum plus round(fraction·U/(1 − fraction)) balanced ones drawn uniformly
/// with `seed`, so the balanced share is `fraction` to the nearest count; sorted ids.
/// The draw is reproducible for a given seed with this build's `rand` (StdRng, rand 0.9).
pub fn balanced_subsample(
    dataset: &ParenDataset,
    fraction: f64,
    seed: u64,
) -> Result<Vec<DatumId>, ScenarioError> {
    let bad = |message: String| Err(ScenarioError::BadSubsample { fraction, message });
    if !(fraction > 0.0 && fraction < 1.0) {
        return bad("the fraction must lie strictly between 0 and 1".into());
    }
    if u32::try_from(dataset.len()).is_err() {
        return Err(ScenarioError::DatasetMismatch {
            len: dataset.len(),
            message: format!("datum ids are 32-bit, so at most {} fit", u32::MAX),
        });
    }
    let (balanced, unbalanced): (Vec<DatumId>, Vec<DatumId>) = (0..dataset.len() as u32)
        .map(DatumId)
        .partition(|d| dataset.examples[d.index()].balanced);
    if unbalanced.is_empty() {
        return bad("the dataset has no unbalanced sequences to keep".into());
    }
    let u = unbalanced.len() as f64;
    let wanted = (fraction * u / (1.0 - fraction)).round();
    if wanted < 1.0 {
        return bad(format!(
            "with {} unbalanced sequences it rounds to no balanced sequence at all",
            unbalanced.len()
        ));
    }
    if wanted > balanced.len() as f64 {
        let most = balanced.len() as f64 / (balanced.len() as f64 + u);
        return bad(format!(
            "{wanted} balanced sequences would be needed beside the {} unbalanced ones, but {} holds only {} (at most a fraction of {most:.4})",
            unbalanced.len(),
            dataset.path.display(),
            balanced.len()
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids = unbalanced;
    ids.extend(
        rand::seq::index::sample(&mut rng, balanced.len(), wanted as usize)
            .into_iter()
            .map(|k| balanced[k]),
    );
    ids.sort_unstable();
    Ok(ids)
}

#[cfg(test)]
#[path = "subsample_tests.rs"]
mod tests;

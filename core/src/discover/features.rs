//! The features a discovered node may agree on: the scenario's library, per-position
//! templates (`hist[{i}]`) taken over the whole sequence (`hist[all]`) where the scenario
//! spells them so, one feature per partition of the pool, coarsest (fewest values) first.

use std::collections::HashMap;

use super::search::FeatureCandidate;
use crate::experiment::{ExperimentError, Scenario};
use crate::feature::{DatumId, FeatureColumn};

/// `column` over `pool` as class numbers in order of first occurrence: two columns give
/// equal vectors exactly when they partition the pool alike.
pub fn partition(column: &FeatureColumn, pool: &[DatumId]) -> Vec<u32> {
    let mut first: HashMap<i64, u32> = HashMap::new();
    pool.iter()
        .map(|&d| {
            let n = first.len() as u32;
            *first.entry(column.value(d).0).or_insert(n)
        })
        .collect()
}

/// The candidates of `scenario`, coarsest first; features taking one value on the pool
/// are left out (agreeing on them is no claim).
pub fn candidates(scenario: &dyn Scenario) -> Result<Vec<FeatureCandidate>, ExperimentError> {
    let names = scenario.feature_names();
    let pool = scenario.pool();
    let mut seen: HashMap<Vec<u32>, String> = HashMap::new();
    let mut out = Vec::new();
    for template in scenario.feature_library() {
        let name = template.replace("{i}", "all");
        if name.contains('{') || names.check(&name).is_err() {
            tracing::debug!(feature = %template, "not a whole-datum feature; discovery skips it");
            continue;
        }
        let column = scenario
            .columns(std::slice::from_ref(&name))?
            .into_iter()
            .next()
            .expect("a column per name");
        let partition = partition(&column, pool);
        let classes = partition.iter().max().map_or(0, |&m| m as usize + 1);
        if classes <= 1 {
            continue;
        }
        if let Some(same) = seen.get(&partition) {
            tracing::debug!(feature = %name, same = %same, "same partition of the pool; skipped");
            continue;
        }
        seen.insert(partition, name.clone());
        out.push(FeatureCandidate { name, classes });
    }
    out.sort_by(|a, b| a.classes.cmp(&b.classes).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

//! Which data attribution compares: each sample's reference datum and a corrupted one,
//! drawn by the scrubbing sampler so that the same seed gives the same pairs as everywhere
//! else in the engine.

use crate::error::Result;
use crate::feature::{DatumId, FeatureColumn};
use crate::scrub::run::{sample, RunSpec};
use crate::scrub::tree::{DatumRule, Tree, TreeBody, TreeId};

/// `samples` pairs `(reference, corrupted)` over `pool`: the corrupted datum is drawn as a
/// scrub draws an unimportant input (uniformly from the pool), or, with `agree`, as it draws
/// an input agreeing with the reference on that feature (which `features` must hold).
pub fn pairs(
    pool: Vec<DatumId>,
    features: &[FeatureColumn],
    agree: Option<&str>,
    samples: usize,
    seed: u64,
) -> Result<Vec<(DatumId, DatumId)>> {
    let body = || TreeBody::Plain { terms: Vec::new() };
    let mut tree = Tree::new("reference", DatumRule::Reference, body());
    let rule = match agree {
        Some(f) => DatumRule::Agrees(f.to_string()),
        None => DatumRule::Unimportant,
    };
    let child = tree.add(TreeId(0), "reference/corrupted", rule, body());
    let score = |_: DatumId, _: &[f32]| (0.0, false);
    let spec = RunSpec {
        features,
        pool,
        samples,
        first_sample: 0,
        seed,
        sharing: None,
        score: &score,
        cache: None,
        batch: 1,
    };
    let a = sample(&tree, &spec)?;
    Ok((0..samples)
        .map(|s| {
            (
                a.get(s, Tree::reference_slot()),
                a.get(s, Tree::slot(child)),
            )
        })
        .collect())
}

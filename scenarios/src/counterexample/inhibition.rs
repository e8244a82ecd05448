//! Neglected inhibition (the write-up's "Neglecting inhibition"): on the same inputs an
//! induction-like term adds 10 to the correct token's logit, an inhibitory term subtracts 3
//! and other terms add 3. The hypothesis that only the first matters resamples the other two
//! on one random input, where they cancel exactly, so it scores 100% — though it ignores two
//! mechanisms. Joining it with a refinement that makes the inhibitory term important (it
//! must agree with the reference on the pattern it reacts to) breaks the cancellation, and
//! the score moves by many standard errors.

use rand::{Rng, SeedableRng};

use scrub_core::scrub::run::log_loss;
use scrub_core::scrub::scalar::ScalarGraph;
use scrub_core::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use scrub_core::scrub::ScrubGraph;
use scrub_core::{FeatureColumn, FeatureValue};

use super::scalar_case::ScalarCase;

const N_DATA: usize = 10_000;

/// The counterexample on data drawn with `seed`: whether the heuristic applies (the
/// "induction pattern" is present) and the correct token are independent fair coins.
pub fn case(seed: u64) -> ScalarCase {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x1D_0C7);
    let applies: Vec<bool> = (0..N_DATA).map(|_| rng.random()).collect();
    let token: Vec<u32> = (0..N_DATA).map(|_| rng.random_range(0..2)).collect();
    let mut g = ScalarGraph::default();
    let a = g.input("applies", applies.iter().map(|&x| x as u8 as f32).collect());
    // +1 pushes towards token 1, −1 towards token 0.
    let s = g.input(
        "direction",
        token.iter().map(|&t| 2.0 * t as f32 - 1.0).collect(),
    );
    let term = |g: &mut ScalarGraph, name: &str, w: f32| {
        g.function(name, &[&[a], &[s]], move |p| w * p[0] * p[1])
    };
    let induction = term(&mut g, "induction", 10.0);
    let inhibitory = term(&mut g, "inhibitory", -3.0);
    let others = term(&mut g, "others", 3.0);
    // The logit of token 1 (token 0's logit is 0).
    let out = g.function("logit", &[&[induction, inhibitory, others]], |p| p[0]);
    let mut flawed = Tree::new(
        "logit",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    for (node, name, rule) in [
        (induction, "induction", DatumRule::Agrees("pattern".into())),
        (inhibitory, "inhibitory", DatumRule::Unimportant),
        (others, "others", DatumRule::Unimportant),
    ] {
        let id = flawed.add(
            TreeId(0),
            format!("logit/{name}"),
            rule,
            TreeBody::Plain { terms: vec![node] },
        );
        flawed.feed(TreeId(0), 0, id, Rows::All);
    }
    debug_assert_eq!(g.output(), out);
    let columns = vec![
        FeatureColumn::new("applies", applies.iter().map(|&x| x.into()).collect()),
        FeatureColumn::new(
            "token",
            token.iter().map(|&t| FeatureValue(t as i64)).collect(),
        ),
        FeatureColumn::new(
            "pattern",
            applies
                .iter()
                .zip(&token)
                .map(|(&x, &t)| FeatureValue(2 * x as i64 + t as i64))
                .collect(),
        ),
    ];
    // Two-way softmax over logits (0, logit): log loss of the correct token.
    let score = log_loss(move |r| vec![(0, token[r.index()])], 2);
    ScalarCase {
        name: "inhibition",
        claim: "only the induction-like term matters (it agrees with the reference on the pattern); the inhibitory term and the others are unimportant".into(),
        graph: g,
        truth_graph: None,
        columns,
        library: vec!["applies".into(), "token".into(), "pattern".into()],
        n_data: N_DATA,
        score: Box::new(move |r, out| {
            let logits = [0.0, out[0]];
            score(r, &logits)
        }),
        flawed,
        truth: None,
        min_samples: 2,
        min_samples_reason: "a standard error needs two",
    }
}

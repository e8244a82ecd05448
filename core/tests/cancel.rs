//! A stop request ends an evaluation with `Cancelled` at its next chunk, and a cleared one
//! lets the same evaluation finish with the numbers it gives unasked. Its own test binary:
//! the request is process-wide and would stop the library tests running beside it.

use scrub_core::sampler::Assignment;
use scrub_core::scrub::evaluate::evaluate_into;
use scrub_core::scrub::graph::ScrubGraph;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::scrub::tree::{DatumRule, Tree, TreeBody};
use scrub_core::testing::{paren_like_data, paren_like_model};
use scrub_core::{DatumId, ModelError};

fn outputs(g: &TransformerGraph, tree: &Tree, n: usize) -> Result<Vec<Vec<f32>>, ModelError> {
    let n_slots = tree.nodes.len() + 1;
    let a = Assignment {
        n_samples: n,
        n_slots,
        data: (0..n)
            .flat_map(|s| std::iter::repeat_n(DatumId(s as u32), n_slots))
            .collect(),
    };
    let mut out = Vec::new();
    evaluate_into(g, tree, &a, 4, None, &mut |_| {}, &mut |_, o| {
        out.push(o.to_vec())
    })?;
    Ok(out)
}

#[test]
fn a_requested_stop_cancels_the_evaluation_and_a_cleared_one_does_not() {
    let model = paren_like_model();
    let data = paren_like_data();
    let n = data.len();
    let g = TransformerGraph::new(&model, data).unwrap();
    let tree = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Plain {
            terms: vec![g.output()],
        },
    );
    let before = outputs(&g, &tree, n).unwrap();
    scrub_core::cancel::request();
    let stopped = outputs(&g, &tree, n);
    scrub_core::cancel::clear();
    assert!(matches!(stopped, Err(ModelError::Cancelled)), "{stopped:?}");
    assert_eq!(outputs(&g, &tree, n).unwrap(), before);
}

use super::*;
use crate::induction::scrub::InductionScrub;
use crate::induction::ModelDir;
use scrub_core::experiment::with_rewrites;
use scrub_core::experiment::Scenario;
use scrub_core::scrub::hypothesis::{HypothesisFile, NameResolver};
use scrub_core::scrub::tree::{DatumRule, TreeBody};

fn roles() -> Roles {
    Roles {
        induction: vec![Head { layer: 1, head: 5 }, Head { layer: 1, head: 3 }],
        previous: Head { layer: 0, head: 0 },
        self_attending: vec![Head { layer: 0, head: 3 }, Head { layer: 0, head: 1 }],
        n_heads: 8,
        n_ctx: 256,
    }
}

/// Builds every generated file against the committed model's graph and returns, per file,
/// the tree's node count and its number of recomputed nodes.
#[test]
fn every_generated_file_builds_on_the_model_graph() {
    let scrub = InductionScrub::load(&ModelDir::committed()).unwrap();
    let base = scrub.graph().unwrap();
    let library = scrub.rewrite_library();
    for (stem, text) in all(&roles()) {
        let file = HypothesisFile::parse(&text, std::path::Path::new(&stem))
            .unwrap_or_else(|e| panic!("{stem}: {e}\n{text}"));
        with_rewrites(&base, &base, &file.rewrites, &library, &mut |g| {
            let names = NameResolver::transformer(&base);
            let tree = file
                .build_tree(g, &names, &scrub.feature_names())
                .unwrap_or_else(|e| panic!("{stem}: {e}"));
            let recomputed = tree
                .nodes
                .iter()
                .filter(|n| matches!(n.body, TreeBody::Recompute { .. }))
                .count();
            // The baseline recomputes only the output; every experiment recomputes both
            // induction heads.
            if stem == "baseline" {
                assert_eq!(recomputed, 1, "{stem}");
            } else {
                assert!(recomputed >= 3, "{stem}: {recomputed} recomputed nodes");
            }
            let agrees = tree
                .nodes
                .iter()
                .filter(|n| matches!(n.datum, DatumRule::Agrees(_)))
                .count();
            let per_position =
                stem.starts_with("refined5") && stem != "refined5_q" && stem != "refined5_v";
            assert_eq!(agrees, if per_position { 256 } else { 0 }, "{stem}");
            Ok::<_, scrub_core::experiment::ExperimentError>(())
        })
        .unwrap();
    }
}

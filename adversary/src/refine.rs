//! Refinement moves: joins of the hypothesis with a refinement drawn from the scenario's
//! feature library. Making an unimportant node important under a feature, or making an
//! important node also agree on a feature, permits fewer swaps, so the joined hypothesis
//! claims more than the original; if the original's score moves under it, the original's
//! silence about that feature was hiding something (the write-up's neglected inhibition and
//! sneaked-in knowledge).
//!
//! Library features may be templates: `{i}` is replaced by a member's position index, so
//! `horizon_at({i})` refines the per-position family `a0[]` position by position.

use std::collections::BTreeSet;

use scrub_core::feature::joined_name;
use scrub_core::scrub::tree::{DatumRule, Tree};

use crate::moves::{family, Move, MoveKind, Refinement};

/// The position index of a per-position node (`3` for `out/2.1/a0[3]`), if it has one.
fn position_index(path: &str) -> Option<&str> {
    let last = path.rsplit('/').next()?;
    let open = last.rfind('[')?;
    let close = open + last[open..].find(']')?;
    let inner = &last[open + 1..close];
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit())).then_some(inner)
}

/// `feature` for the node at `path`: templates take its position index; `None` when the
/// feature is a template and the node has no index.
fn instantiate(feature: &str, path: &str) -> Option<String> {
    if !feature.contains("{i}") {
        return Some(feature.to_string());
    }
    position_index(path).map(|i| feature.replace("{i}", i))
}

/// Every refinement move the library offers on `tree`, per family and feature, without
/// no-ops (a feature a node already agrees on) or duplicates.
pub fn enumerate_refinements(tree: &Tree, library: &[String]) -> Vec<Move> {
    let mut families: Vec<String> = Vec::new();
    for n in &tree.nodes {
        let f = family(&n.path.0);
        if !families.contains(&f) {
            families.push(f);
        }
    }
    let mut seen: BTreeSet<Vec<Refinement>> = BTreeSet::new();
    let mut out = Vec::new();
    for fam in &families {
        let members: Vec<usize> = (0..tree.nodes.len())
            .filter(|&i| family(&tree.nodes[i].path.0) == *fam)
            .collect();
        for feature in library {
            let mut make_important = Vec::new();
            let mut refine = Vec::new();
            for &m in &members {
                let node = &tree.nodes[m];
                let Some(f) = instantiate(feature, &node.path.0) else {
                    continue;
                };
                let r = Refinement {
                    node: node.path.0.clone(),
                    feature: f.clone(),
                };
                match &node.datum {
                    DatumRule::Unimportant | DatumRule::UnimportantGroup(_) => {
                        make_important.push(r)
                    }
                    DatumRule::Agrees(g) if joined_name(g, &f) != *g => refine.push(r),
                    _ => {}
                }
            }
            let kinds = [
                (
                    make_important,
                    MoveKind::MakeImportant {
                        family: fam.clone(),
                        feature: feature.clone(),
                    },
                    format!("make the unimportant `{fam}` agree on `{feature}`"),
                ),
                (
                    refine,
                    MoveKind::RefineFeature {
                        family: fam.clone(),
                        feature: feature.clone(),
                    },
                    format!("refine `{fam}` by `{feature}`"),
                ),
            ];
            for (refinements, kind, description) in kinds {
                if refinements.is_empty() || !seen.insert(refinements.clone()) {
                    continue;
                }
                out.push(Move {
                    description: format!("{description} ({} nodes)", refinements.len()),
                    kind,
                    ties: Vec::new(),
                    refinements,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scrub_core::scrub::graph::NodeId;
    use scrub_core::scrub::tree::{TreeBody, TreeId};

    fn plain() -> TreeBody {
        TreeBody::Plain {
            terms: vec![NodeId(0)],
        }
    }

    fn tree() -> Tree {
        let mut t = Tree::new(
            "out",
            DatumRule::Agrees("y".into()),
            TreeBody::Recompute {
                node: NodeId(1),
                ports: vec![vec![]],
            },
        );
        for i in 1..=3 {
            t.add(
                TreeId(0),
                format!("out/a[{i}]"),
                DatumRule::Agrees(format!("h({i})")),
                plain(),
            );
            t.add(
                TreeId(0),
                format!("out/rest[{i}]"),
                DatumRule::Unimportant,
                plain(),
            );
        }
        t
    }

    #[test]
    fn templates_take_each_members_index_and_no_ops_are_left_out() {
        let t = tree();
        let lib = vec!["h({i})".to_string(), "y".to_string()];
        let moves = enumerate_refinements(&t, &lib);
        let names: Vec<&str> = moves.iter().map(|m| m.description.as_str()).collect();
        // a[] already agrees on h({i}); the root already agrees on y and has no index.
        assert_eq!(
            names,
            [
                "refine `out/a[]` by `y` (3 nodes)",
                "make the unimportant `out/rest[]` agree on `h({i})` (3 nodes)",
                "make the unimportant `out/rest[]` agree on `y` (3 nodes)",
            ]
        );
        let applied = moves[1].apply(&t).unwrap();
        let rest2 = applied.find("out/rest[2]").unwrap();
        assert_eq!(
            applied.nodes[rest2.0].datum,
            DatumRule::Agrees("h(2)".into())
        );
        let refined = moves[0].apply(&applied).unwrap();
        let a3 = refined.find("out/a[3]").unwrap();
        assert_eq!(
            refined.nodes[a3.0].datum,
            DatumRule::Agrees("h(3) & y".into())
        );
        // The refinement is gone once applied.
        assert!(enumerate_refinements(&refined, &lib).iter().all(
            |m| !matches!(&m.kind, MoveKind::RefineFeature { family, .. } if family == "out/a[]")
        ));
    }

    #[test]
    fn refining_a_node_that_is_missing_or_fixed_is_refused() {
        let t = tree();
        let mut m = enumerate_refinements(&t, &["y".to_string()]).remove(0);
        m.refinements[0].node = "out/nope".into();
        let e = m.apply(&t).unwrap_err().to_string();
        assert!(e.contains("`out/nope`"), "{e}");
        m.refinements[0].node = "out".into();
        let mut fixed = t.clone();
        fixed.nodes[0].datum = DatumRule::Reference;
        let e = m.apply(&fixed).unwrap_err().to_string();
        assert!(e.contains("fixed"), "{e}");
    }
}

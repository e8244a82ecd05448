use scrub_core::scrub::graph::NodeId;
use scrub_core::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};

use super::*;

/// A 3c-like tree: `out` recomputes from `x[i]` and `y[i]` (agreeing on `h{i}`) and `r[i]`
/// (unimportant, its own group per position) at rows 1 and 2, and an unimportant `~rest`.
pub(crate) fn split_tree() -> Tree {
    let mut t = Tree::new(
        "out",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: NodeId(9),
            ports: vec![vec![]],
        },
    );
    let plain = || TreeBody::Plain {
        terms: vec![NodeId(0)],
    };
    for i in 1..=2 {
        for (name, rule) in [
            ("x", DatumRule::Agrees(format!("h{i}"))),
            ("y", DatumRule::Agrees(format!("h{i}"))),
            ("r", DatumRule::UnimportantGroup(i.to_string())),
        ] {
            let c = t.add(TreeId(0), format!("out/{name}[{i}]"), rule, plain());
            t.feed(TreeId(0), 0, c, Rows::Only(vec![i]));
        }
    }
    let rest = t.add(TreeId(0), "out/in~rest", DatumRule::Unimportant, plain());
    t.feed(TreeId(0), 0, rest, Rows::Only(vec![0]));
    t
}

#[test]
fn family_strips_generator_indices_only() {
    assert_eq!(family("out/2.1/a0[17]"), "out/2.1/a0[]");
    assert_eq!(family("out/2.1/x2[3]"), "out/2.1/x2[]");
    assert_eq!(family("out/2.1"), "out/2.1");
    assert_eq!(family("out/in~rest2"), "out/in~rest2");
}

#[test]
fn enumerates_family_moves_without_duplicates() {
    let t = split_tree();
    let moves = enumerate_ties(&t);
    let names: Vec<&str> = moves.iter().map(|m| m.description.as_str()).collect();
    // Row groups tied; the three family pairs; r[] across positions; r[] with ~rest.
    assert_eq!(moves.len(), 6, "{names:#?}");
    let all = &moves[0];
    assert_eq!(
        all.kind,
        MoveKind::TieRowGroups {
            parent_family: "out".into()
        }
    );
    let ties: Vec<(&str, &str)> = all
        .ties
        .iter()
        .map(|t| (t.follower.as_str(), t.leader.as_str()))
        .collect();
    assert_eq!(
        ties,
        [
            ("out/y[1]", "out/x[1]"),
            ("out/r[1]", "out/x[1]"),
            ("out/y[2]", "out/x[2]"),
            ("out/r[2]", "out/x[2]"),
        ]
    );
    // x[1] and x[2] agree on different features: never tied across positions.
    assert!(moves.iter().all(|m| m
        .ties
        .iter()
        .all(|t| !(t.follower.contains("[2]") && t.leader.contains("x[1]")))));
    assert!(moves.iter().any(|m| m.kind
        == MoveKind::TieFamily {
            family: "out/r[]".into()
        }));
}

#[test]
fn applied_moves_are_permitted_and_not_offered_again() {
    let t = split_tree();
    for m in enumerate_ties(&t) {
        let after = m.apply(&t).unwrap();
        for tie in &m.ties {
            let f = t.find(&tie.follower).unwrap();
            let l = t.find(&tie.leader).unwrap();
            assert!(permitted(&t, f, l).is_ok(), "{}", m.description);
            assert_eq!(after.nodes[f.0].datum, DatumRule::SameAs(l));
        }
        // Only datum rules change, so paired sampling applies.
        for (a, b) in t.nodes.iter().zip(&after.nodes) {
            assert_eq!((&a.path, a.parent, &a.body), (&b.path, b.parent, &b.body));
        }
        assert!(
            !enumerate_ties(&after).iter().any(|n| n.ties == m.ties),
            "{} offered again after applying it",
            m.description
        );
    }
    let everything = enumerate_ties(&t).remove(0).apply(&t).unwrap();
    // Every row group is one datum now; what is left is tying across positions.
    assert!(enumerate_ties(&everything)
        .iter()
        .all(|m| !matches!(m.kind, MoveKind::TieRowGroups { .. })));
}

#[test]
fn forbidden_ties_are_rejected_with_clear_errors() {
    let t = split_tree();
    let bad = |follower: &str, leader: &str| Move {
        description: "test".into(),
        kind: MoveKind::TieFamily { family: "x".into() },
        ties: vec![Tie {
            follower: follower.into(),
            leader: leader.into(),
        }],
        refinements: Vec::new(),
    };
    // An important node may not take an unimportant node's datum, nor one agreeing on
    // another feature.
    let e = bad("out/x[2]", "out/r[1]").apply(&t).unwrap_err();
    assert!(matches!(e, MoveError::NotPermitted { .. }), "{e}");
    let e = bad("out/x[2]", "out/x[1]").apply(&t).unwrap_err();
    assert!(e.to_string().contains("h2"), "{e}");
    let e = bad("out/x[1]", "out/y[1]").apply(&t).unwrap_err();
    assert!(matches!(e, MoveError::NotEarlier { .. }), "{e}");
    let e = bad("out/nope", "out/x[1]").apply(&t).unwrap_err();
    assert!(e.to_string().contains("out/nope"), "{e}");
}

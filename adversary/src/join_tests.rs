use rand::{Rng, SeedableRng};

use super::*;
use scrub_core::feature::{DatumId, FeatureColumn, FeatureValue};
use scrub_core::sampler::Sharing;
use scrub_core::scrub::evaluate::SAMPLE_BATCH;
use scrub_core::scrub::graph::NodeId;
use scrub_core::scrub::run::{sample, RunSpec};
use scrub_core::scrub::scalar::ScalarGraph;
use scrub_core::scrub::tree::{PadMask, Rows};
use scrub_core::scrub::validate::validate;

const N_DATA: usize = 300;

/// out = f(x1 + x2, x3): node ids x1 0, x2 1, x3 2, f 3.
fn graph() -> ScalarGraph {
    let mut g = ScalarGraph::default();
    let x1 = g.input("x1", vec![0.0; N_DATA]);
    let x2 = g.input("x2", vec![0.0; N_DATA]);
    let x3 = g.input("x3", vec![0.0; N_DATA]);
    g.function("f", &[&[x1, x2], &[x3]], |p| p[0] * p[1]);
    g
}

/// Root recomputes f from `a` (reading x1 + x2) and `b` (reading x3).
fn tree(root: DatumRule, a: DatumRule, b: DatumRule) -> Tree {
    let mut t = Tree::new(
        "out",
        root,
        TreeBody::Recompute {
            node: NodeId(3),
            ports: vec![vec![], vec![]],
        },
    );
    let plain = |terms: Vec<NodeId>| TreeBody::Plain { terms };
    let ia = t.add(TreeId(0), "out/a", a, plain(vec![NodeId(0), NodeId(1)]));
    let ib = t.add(TreeId(0), "out/b", b, plain(vec![NodeId(2)]));
    t.feed(TreeId(0), 0, ia, Rows::All);
    t.feed(TreeId(0), 1, ib, Rows::All);
    t
}

fn columns() -> Vec<FeatureColumn> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    ["y", "f1", "f2", "f3"]
        .iter()
        .map(|n| {
            let v = (0..N_DATA)
                .map(|_| FeatureValue(rng.random_range(0..3)))
                .collect();
            FeatureColumn::new(*n, v)
        })
        .collect()
}

fn agrees(f: &str) -> DatumRule {
    DatumRule::Agrees(f.into())
}

/// Every violation of `original`'s rules in an assignment drawn for `joined`: a node of
/// `original` sits on the datum of the same-named node of `joined`, or of its nearest kept
/// ancestor when the join reads that part as one unit.
fn violations(
    original: &Tree,
    joined: &Tree,
    cols: &[FeatureColumn],
    samples: usize,
) -> Vec<String> {
    let score = |_: DatumId, _: &[f32]| (0.0, true);
    let spec = RunSpec {
        features: cols,
        pool: (0..N_DATA as u32).map(DatumId).collect(),
        samples,
        first_sample: 0,
        seed: 11,
        sharing: None,
        score: &score,
        cache: None,
        batch: SAMPLE_BATCH,
    };
    let a = sample(joined, &spec).expect("the joined tree samples");
    let slot_of = |mut id: TreeId| loop {
        if let Some(j) = joined.find(&original.nodes[id.0].path.0) {
            return Tree::slot(j);
        }
        id = original.nodes[id.0]
            .parent
            .expect("the root is always kept");
    };
    let value = |name: &str, d: DatumId| cols.iter().find(|c| c.name == name).unwrap().value(d);
    let mut bad = Vec::new();
    for s in 0..samples {
        for (i, n) in original.nodes.iter().enumerate() {
            let d = a.get(s, slot_of(TreeId(i)));
            let parent = n.parent.map_or(Tree::reference_slot(), &slot_of);
            let pd = a.get(s, parent);
            let ok = match &n.datum {
                DatumRule::Reference => d == a.get(s, Tree::reference_slot()),
                DatumRule::Agrees(f) => value(f, d) == value(f, pd),
                DatumRule::SameAs(x) => d == a.get(s, slot_of(*x)),
                DatumRule::Unimportant | DatumRule::UnimportantGroup(_) => true,
            };
            if !ok {
                bad.push(format!("sample {s}: `{}` ({:?})", n.path.0, n.datum));
            }
        }
    }
    bad
}

#[test]
fn every_swap_the_join_permits_is_permitted_by_both() {
    let cols = columns();
    let g = graph();
    let pairs = [
        (
            tree(agrees("y"), agrees("f1"), DatumRule::Unimportant),
            tree(agrees("y"), DatumRule::Unimportant, agrees("f2")),
        ),
        (
            tree(agrees("y"), agrees("f1"), agrees("f3")),
            tree(agrees("f2"), agrees("f2"), DatumRule::Unimportant),
        ),
        (
            tree(DatumRule::Reference, agrees("f1"), DatumRule::Unimportant),
            tree(agrees("y"), agrees("f3"), agrees("f1")),
        ),
    ];
    for (h1, h2) in &pairs {
        let j = join(h1, h2).expect("same structure joins");
        validate(&j, &g).expect("the join is a valid hypothesis over the graph");
        assert_eq!(j.nodes.len(), h1.nodes.len());
        for original in [h1, h2] {
            let bad = violations(original, &j, &cols, 400);
            assert!(
                bad.is_empty(),
                "the join permits swaps the original forbids: {:?}",
                &bad[..bad.len().min(5)]
            );
        }
    }
    // The check has teeth: each hypothesis alone permits swaps the other forbids.
    let (h1, h2) = &pairs[0];
    assert!(!violations(h2, h1, &cols, 400).is_empty());
    assert!(!violations(h1, h2, &cols, 400).is_empty());
}

#[test]
fn a_node_either_reads_as_one_unit_stays_one_unit() {
    let cols = columns();
    let split = tree(agrees("y"), agrees("f1"), agrees("f2"));
    let whole = Tree::new(
        "out",
        agrees("f3"),
        TreeBody::Plain {
            terms: vec![NodeId(3)],
        },
    );
    for (a, b) in [(&split, &whole), (&whole, &split)] {
        let j = join(a, b).unwrap();
        assert_eq!(j.nodes.len(), 1);
        assert_eq!(j.nodes[0].body, whole.nodes[0].body);
        let (DatumRule::Agrees(fa), DatumRule::Agrees(fb)) = (&a.nodes[0].datum, &b.nodes[0].datum)
        else {
            unreachable!("both roots agree on a feature")
        };
        assert_eq!(j.nodes[0].datum, agrees(&joined_name(fa, fb)));
        for original in [a, b] {
            assert!(violations(original, &j, &cols, 200).is_empty());
        }
    }
}

#[test]
fn rules_combine_as_tuples_and_importance_wins() {
    use DatumRule::*;
    assert_eq!(join_rules(&agrees("a"), &agrees("b")), Ok(agrees("a & b")));
    assert_eq!(
        join_rules(&agrees("a & b"), &agrees("b")),
        Ok(agrees("a & b"))
    );
    assert_eq!(join_rules(&Unimportant, &agrees("b")), Ok(agrees("b")));
    assert_eq!(join_rules(&Unimportant, &Reference), Ok(Reference));
    assert_eq!(
        join_rules(&SameAs(TreeId(1)), &Unimportant),
        Ok(SameAs(TreeId(1)))
    );
    assert!(join_rules(&Reference, &agrees("a")).is_err());
    assert!(join_rules(&SameAs(TreeId(1)), &agrees("a")).is_err());
}

#[test]
fn different_splits_and_roots_are_refused_with_the_node_named() {
    let t = tree(agrees("y"), agrees("f1"), agrees("f2"));
    let mut other = t.clone();
    other.nodes[1].path.0 = "out/c".into();
    let e = join(&t, &other).unwrap_err();
    assert!(
        matches!(&e, JoinError::Structure { path, .. } if path == "out")
            && e.to_string().contains("`out/c`"),
        "{e}"
    );
    let mut rooted = t.clone();
    rooted.nodes[0].path.0 = "other".into();
    assert!(matches!(join(&t, &rooted), Err(JoinError::Roots { .. })));
    let mut terms = t.clone();
    terms.nodes[2].body = TreeBody::Plain {
        terms: vec![NodeId(0)],
    };
    let e = join(&t, &terms).unwrap_err();
    assert!(e.to_string().contains("out/b"), "{e}");
}

#[test]
fn the_join_keeps_the_first_trees_sharing_and_pad_mask() {
    let mut first = tree(agrees("y"), agrees("f1"), DatumRule::Unimportant);
    first.sharing = Sharing::PerTerm;
    first.pad_mask = PadMask::Unclaimed;
    let second = tree(agrees("y"), DatumRule::Unimportant, agrees("f3"));
    let j = join(&first, &second).unwrap();
    assert_eq!(
        (j.sharing, j.pad_mask),
        (Sharing::PerTerm, PadMask::Unclaimed)
    );
    let j = join(&second, &first).unwrap();
    assert_eq!((j.sharing, j.pad_mask), (Sharing::PerParent, PadMask::Own));
}

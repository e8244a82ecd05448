//! Properties of the sampler over random trees, features and pools: every agreeing draw
//! agrees with its parent on the node's feature; a seed fixes every draw; and adding a node,
//! or changing one, moves no draw of a node that does not depend on it.

use proptest::prelude::*;

use super::*;

/// A slot kind before its indices are checked against the tree: `SameAs(k)` names the
/// `k % i`-th earlier slot of slot `i`.
#[derive(Debug, Clone)]
enum Kind {
    Agrees(usize),
    Unimportant,
    Group(u8),
    SameAs(usize),
}

fn kind(n_features: usize) -> impl Strategy<Value = Kind> {
    prop_oneof![
        (0..n_features).prop_map(Kind::Agrees),
        Just(Kind::Unimportant),
        (0u8..2).prop_map(Kind::Group),
        any::<usize>().prop_map(Kind::SameAs),
    ]
}

fn slot_kind(k: &Kind, i: usize) -> SlotKind {
    match *k {
        Kind::Agrees(feature) => SlotKind::Agrees { feature },
        Kind::Unimportant => SlotKind::Unimportant,
        Kind::Group(g) => SlotKind::UnimportantGroup(format!("g{g}")),
        Kind::SameAs(k) => SlotKind::SameAs(SlotId(k % i)),
    }
}

/// A random case: a dataset with features, a pool, and a tree whose slot `i > 0` hangs
/// under `parents[i - 1] % i`.
#[derive(Debug, Clone)]
struct Case {
    columns: Vec<FeatureColumn>,
    pool: Vec<DatumId>,
    nodes: Vec<(usize, Kind)>,
    sharing: Sharing,
    seed: u64,
}

impl Case {
    fn tree(&self) -> SlotTree {
        let mut t = SlotTree::default();
        t.add("r", None, SlotKind::Reference);
        for (i, (parent, k)) in self.nodes.iter().enumerate() {
            let i = i + 1;
            let p = parent % i;
            let path = format!("{}/n{i}", t.slots[p].path);
            t.add(path, Some(SlotId(p)), slot_kind(k, i));
        }
        t
    }

    fn sample(&self, tree: &SlotTree, n: usize) -> Assignment {
        let cols: Vec<&FeatureColumn> = self.columns.iter().collect();
        Sampler::new(self.pool.clone(), cols)
            .unwrap()
            .sample(tree, self.sharing, 0..n, self.seed)
            .unwrap()
    }
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..60, 1usize..4).prop_flat_map(|(n_data, n_features)| {
        let column = (1i64..5).prop_flat_map(move |k| prop::collection::vec(0..k, n_data));
        (
            prop::collection::vec(column, n_features),
            prop::collection::vec(any::<bool>(), n_data),
            prop::collection::vec((any::<usize>(), kind(n_features)), 0..16),
            prop_oneof![
                Just(Sharing::PerParent),
                Just(Sharing::PerTerm),
                Just(Sharing::Global)
            ],
            any::<u64>(),
        )
            .prop_map(move |(values, keep, nodes, sharing, seed)| {
                let columns = values
                    .into_iter()
                    .enumerate()
                    .map(|(f, v)| {
                        FeatureColumn::new(
                            format!("f{f}"),
                            v.into_iter().map(FeatureValue).collect(),
                        )
                    })
                    .collect();
                let mut pool: Vec<DatumId> = (0..n_data as u32)
                    .filter(|&d| keep[d as usize])
                    .map(DatumId)
                    .collect();
                if pool.is_empty() {
                    pool.push(DatumId(0));
                }
                Case {
                    columns,
                    pool,
                    nodes,
                    sharing,
                    seed,
                }
            })
    })
}

/// Slots whose draws may depend on slot `changed`: it, its descendants, and whatever is
/// sampled together with any of them (slots come after their parents and targets).
fn dependents(tree: &SlotTree, changed: usize) -> Vec<bool> {
    let mut dep = vec![false; tree.slots.len()];
    for (i, s) in tree.slots.iter().enumerate() {
        dep[i] = i == changed
            || s.parent.is_some_and(|p| dep[p.0])
            || matches!(s.kind, SlotKind::SameAs(t) if dep[t.0]);
    }
    dep
}

const SAMPLES: usize = 8;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_agreeing_draw_agrees_with_its_parent(c in case()) {
        let tree = c.tree();
        let a = c.sample(&tree, SAMPLES);
        for s in 0..SAMPLES {
            for (i, slot) in tree.slots.iter().enumerate() {
                prop_assert!(c.pool.contains(&a.get(s, SlotId(i))), "{} outside the pool", slot.path);
                if let SlotKind::Agrees { feature } = slot.kind {
                    let f = &c.columns[feature];
                    let parent = a.get(s, slot.parent.unwrap());
                    prop_assert_eq!(f.value(a.get(s, SlotId(i))), f.value(parent), "{}", slot.path);
                }
                if let SlotKind::SameAs(t) = slot.kind {
                    prop_assert_eq!(a.get(s, SlotId(i)), a.get(s, t));
                }
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_draws(c in case()) {
        let tree = c.tree();
        prop_assert_eq!(c.sample(&tree, SAMPLES), c.sample(&tree, SAMPLES));
    }

    #[test]
    fn adding_a_node_moves_no_other_draw(
        c in case(),
        parent in any::<usize>(),
        k in kind(3),
    ) {
        let before = c.tree();
        let mut grown = c.clone();
        let k = match k {
            Kind::Agrees(f) => Kind::Agrees(f % c.columns.len()),
            other => other,
        };
        grown.nodes.push((parent, k));
        let after = grown.tree();
        let (a, b) = (c.sample(&before, SAMPLES), grown.sample(&after, SAMPLES));
        for s in 0..SAMPLES {
            for i in 0..before.slots.len() {
                prop_assert_eq!(a.get(s, SlotId(i)), b.get(s, SlotId(i)), "{}", before.slots[i].path);
            }
        }
    }

    #[test]
    fn changing_a_node_moves_only_what_depends_on_it(
        c in case(),
        which in any::<usize>(),
        k in kind(3),
    ) {
        prop_assume!(!c.nodes.is_empty());
        let before = c.tree();
        let mut changed = c.clone();
        let j = which % c.nodes.len();
        changed.nodes[j].1 = match k {
            Kind::Agrees(f) => Kind::Agrees(f % c.columns.len()),
            other => other,
        };
        let after = changed.tree();
        let dep = dependents(&before, j + 1);
        let dep_after = dependents(&after, j + 1);
        let (a, b) = (c.sample(&before, SAMPLES), changed.sample(&after, SAMPLES));
        for s in 0..SAMPLES {
            for i in (0..before.slots.len()).filter(|&i| !dep[i] && !dep_after[i]) {
                prop_assert_eq!(a.get(s, SlotId(i)), b.get(s, SlotId(i)), "{}", before.slots[i].path);
            }
        }
    }
}

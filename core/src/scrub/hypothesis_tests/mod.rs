//! Hypothesis files: the write-up's paren hypotheses parse into the trees they describe
//! (generators expanded, unimportant remainders added), those trees reproduce the model on
//! one datum, mistakes are reported with their file position, and files round-trip.

use std::path::Path;

use super::*;
use crate::feature::DatumId;
use crate::forward::forward;
use crate::sampler::{Assignment, NodePath};
use crate::scrub::evaluate::evaluate;
use crate::scrub::graph::NodeId;
use crate::scrub::transformer::{Component, TransformerGraph};
use crate::scrub::tree::{DatumRule, Rows, TreeBody, TreeId};
use crate::tokens::{TokenBatch, TokenId};
use crate::weights::Model;

const N_CTX: usize = 8;

fn model() -> Model {
    crate::testing::paren_like_model()
}

fn data() -> Vec<Vec<TokenId>> {
    crate::testing::paren_like_data()
}

/// The paren features, with `horizon_at(i)` for the test model's positions 1..=6.
fn features() -> FeatureNames<'static> {
    let plain = ["is_balanced", "count_open", "start_open", "horizon"];
    let mut shown: Vec<String> = plain.iter().map(|s| s.to_string()).collect();
    shown.push("horizon_at(i) for i in 1..=6".into());
    // Like the paren scenario, it understands `horizon_at( 05 )` and spells it `horizon_at(5)`.
    FeatureNames::new(shown, move |f| {
        let f = f.trim();
        if plain.contains(&f) {
            return Some(f.to_string());
        }
        f.strip_prefix("horizon_at")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|i| i.trim().parse::<usize>().ok())
            .filter(|i| (1..=6).contains(i))
            .map(|i| format!("horizon_at({i})"))
    })
}

fn parse(text: &str) -> HypothesisFile {
    HypothesisFile::parse(text, Path::new("h.ron")).unwrap_or_else(|e| panic!("{e}"))
}

fn build(g: &TransformerGraph, text: &str) -> Result<Tree, HypothesisError> {
    parse(text).build_tree(g, &NameResolver::transformer(g), &features())
}

/// The error `text` gets, parsing or building, as displayed.
fn error(g: &TransformerGraph, text: &str) -> String {
    match HypothesisFile::parse(text, Path::new("h.ron")) {
        Err(e) => e.to_string(),
        Ok(h) => match h.build_tree(g, &NameResolver::transformer(g), &features()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected an error from\n{text}"),
        },
    }
}

/// A hypothesis file around `root`.
fn file(root: &str) -> String {
    format!("Hypothesis(\n    scenario: \"paren\",\n    root: {root},\n)\n")
}

/// Line and column of the first occurrence of `needle` in `text`, as `h.ron:L:C`.
fn position(text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("h.ron:{line}:{column}")
}

fn id(g: &TransformerGraph, name: &str) -> NodeId {
    NameResolver::transformer(g).resolve(g, name).unwrap()
}

fn ids(g: &TransformerGraph, names: &[&str]) -> Vec<NodeId> {
    names.iter().map(|n| id(g, n)).collect()
}

/// The terms of port 0 of `node`, less `without`, in the port's order.
fn port_terms(g: &TransformerGraph, node: &str, without: &[&str]) -> Vec<NodeId> {
    let drop = ids(g, without);
    g.node(id(g, node)).ports[0]
        .terms
        .iter()
        .copied()
        .filter(|t| !drop.contains(t))
        .collect()
}

fn node<'t>(t: &'t Tree, path: &str) -> &'t crate::scrub::tree::TreeNode {
    &t.nodes[t
        .find(path)
        .unwrap_or_else(|| panic!("no node `{path}` in {:?}", paths(t)))
        .0]
}

fn paths(t: &Tree) -> Vec<&str> {
    t.nodes.iter().map(|n| n.path.0.as_str()).collect()
}

/// The rows on which `child` feeds port `port` of its parent.
fn fed_rows(t: &Tree, child: &str, port: usize) -> Vec<Rows> {
    let c = t.find(child).unwrap();
    let parent = t.nodes[c.0].parent.unwrap();
    match &t.nodes[parent.0].body {
        TreeBody::Recompute { ports, .. } => ports[port]
            .iter()
            .filter(|p| p.child == c)
            .map(|p| p.rows.clone())
            .collect(),
        TreeBody::Plain { .. } => panic!("{child}'s parent reads plainly"),
    }
}

fn plain_terms(t: &Tree, path: &str) -> Vec<NodeId> {
    match &node(t, path).body {
        TreeBody::Plain { terms } => terms.clone(),
        b => panic!("{path} is {b:?}"),
    }
}

/// Evaluated with every slot of sample `s` on datum `s`, the tree gives the model's logits.
fn assert_exact(m: &Model, g: &TransformerGraph, tree: &Tree, name: &str) {
    let n_slots = tree.nodes.len() + 1;
    let samples = [0u32, 1, 2, 3];
    let a = Assignment {
        n_samples: samples.len(),
        n_slots,
        data: samples
            .iter()
            .flat_map(|&d| vec![DatumId(d); n_slots])
            .collect(),
    };
    let out = evaluate(g, tree, &a).unwrap_or_else(|e| panic!("{name}: {e}"));
    let seqs = data();
    let plain = forward(
        m,
        &TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice)),
        None,
    );
    let per = N_CTX * 2;
    for (s, o) in out.outputs.iter().enumerate() {
        let want = &plain.data[s * per..(s + 1) * per];
        let diff = o
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-4, "{name}: datum {s} differs by {diff}");
    }
}

const H0A: &str = r#"Hypothesis(scenario: "paren", root: Node(name: "out", feature: Some("is_balanced"), reads: ["out"]))"#;
const H0B: &str = r#"Hypothesis(scenario: "paren", root: Node(name: "out", reads: ["unembed"]))"#;
const H1B: &str = include_str!("../testdata/paren_1b.ron");
const H3A: &str = include_str!("../testdata/paren_3a.ron");

/// 2a: 1.0 and 2.0 recomputed from 0.0 and the embeddings at position 1.
const H2A: &str = r#"
Hypothesis(
    scenario: "paren",
    root: Node(
        name: "out",
        feature: Some("is_balanced"),
        computes: Some("out"),
        inputs: [
            Node(
                name: "1.0",
                feature: Some("count_open"),
                computes: Some("1.0"),
                inputs: [
                    Node(name: "0.0", feature: Some("count_open"), rows: Some("1"), reads: ["0.0"]),
                    Node(name: "emb", feature: Some("start_open"), rows: Some("1"), reads: ["emb", "pos"]),
                ],
            ),
            Node(
                name: "2.0",
                feature: Some("count_open"),
                computes: Some("2.0"),
                inputs: [
                    Node(name: "0.0", feature: Some("count_open"), rows: Some("1"), reads: ["0.0"]),
                    Node(name: "emb", feature: Some("start_open"), rows: Some("1"), reads: ["emb", "pos"]),
                ],
            ),
            Node(name: "2.1", feature: Some("horizon"), reads: ["2.1"]),
        ],
    ),
)
"#;

/// Separate q, k and v inputs for 2.1; its values come through a recomputed mlp1.
const HQKV: &str = r#"
Hypothesis(
    scenario: "paren",
    sharing: PerTerm,
    root: Node(
        name: "out",
        reference: true,
        computes: "out",
        inputs: [
            Node(
                name: "2.1",
                feature: "horizon",
                computes: "2.1",
                ports: {
                    "q": [Node(name: "q.emb", reads: ["emb", "pos"])],
                    "v": [
                        Node(name: "mlp1", computes: "mlp1", inputs: [
                            Node(name: "1.0", feature: "count_open", reads: ["1.0"]),
                        ]),
                    ],
                },
            ),
        ],
    ),
)
"#;

mod building;
mod errors;
mod feature_names;
mod round_trip;
mod user_files;

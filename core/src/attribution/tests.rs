//! The graph's backward pass against finite differences taken through the patching code,
//! patching against the plain forward where the answer is known exactly, and attribution
//! equal to the actual effect where the model is linear.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::patch::recomputed_outputs;
use super::*;
use crate::config::{AttentionKind, Normalization, PositionalKind};
use crate::experiment::Silent;
use crate::gradient::graph::backward;
use crate::scrub::run::{log_loss, log_loss_gradient, log_odds, log_odds_gradient};
use crate::scrub::transformer::TransformerGraph;
use crate::testing::{paren_like_config, paren_like_data, paren_like_model, random_model};
use crate::weights::Model;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

fn plain_all(g: &dyn ScrubGraph, data: &[DatumId]) -> Vec<Vec<Vec<f32>>> {
    let all: Vec<NodeId> = (0..g.nodes().len()).map(NodeId).collect();
    g.plain(data, &all).unwrap()
}

/// The output with `site`'s source values moved by `eps·u` from the reference's.
fn nudged(g: &dyn ScrubGraph, values: &[Vec<f32>], site: &Site, u: &[f32], eps: f32) -> Vec<f32> {
    let mut moved = values.to_vec();
    for n in site.sources() {
        moved[n.0]
            .iter_mut()
            .zip(u)
            .for_each(|(a, b)| *a += eps * b);
    }
    patched_outputs(g, &[DatumId(0)], &[values], &[&moved], site)
        .unwrap()
        .remove(0)
}

fn models() -> Vec<Model> {
    let mut short = paren_like_config(AttentionKind::Causal, PositionalKind::Shortformer);
    short.pad_token = None;
    // A parallel block's MLP reads the stream before its own layer's heads.
    let mut parallel = paren_like_config(AttentionKind::Causal, PositionalKind::Standard);
    parallel.parallel_attn_mlp = true;
    vec![
        paren_like_model(),
        random_model(&short, 4, 0.4),
        random_model(&parallel, 6, 0.4),
    ]
}

#[test]
fn graph_gradients_match_finite_differences_through_patching() {
    for model in models() {
        let g = TransformerGraph::new(&model, paren_like_data()).unwrap();
        let values = plain_all(&g, &[DatumId(0)]).remove(0);
        let out = g.output();
        let r = random(values[out.0].len(), 5);
        let grads = backward(&g, DatumId(0), &values, &r).unwrap();
        let f = |site: &Site, u: &[f32], eps: f32| dot(&nudged(&g, &values, site, u, eps), &r);
        let node = |name: &str| g.find(name).unwrap();
        let sites = [
            (
                Site::Nodes {
                    nodes: vec![node("embed")],
                    row: None,
                },
                grads.nodes[node("embed").0].clone(),
            ),
            (
                Site::Nodes {
                    nodes: vec![node("blocks.0.attn.head.1")],
                    row: None,
                },
                grads.nodes[node("blocks.0.attn.head.1").0].clone(),
            ),
            (
                Site::Edge {
                    from: node("embed"),
                    to: node("blocks.2.attn.head.0"),
                    port: 1,
                },
                grads.ports[node("blocks.2.attn.head.0").0][1].clone(),
            ),
            (
                Site::Edge {
                    from: node("blocks.1.mlp"),
                    to: out,
                    port: 0,
                },
                grads.ports[out.0][0].clone(),
            ),
        ];
        for (site, grad) in &sites {
            let u = random(grad.len(), 9);
            let eps = 1e-3;
            let fd = (f(site, &u, eps) - f(site, &u, -eps)) / (2.0 * eps as f64);
            let an = dot(grad, &u);
            let scale = dot(grad, grad).sqrt() * dot(&u, &u).sqrt();
            assert!(
                (fd - an).abs() <= 5e-3 * scale,
                "{site:?}: {fd} vs {an} (scale {scale})"
            );
        }
    }
}

#[test]
fn patching_the_last_or_first_stream_gives_the_other_datums_output() {
    let model = paren_like_model();
    let g = TransformerGraph::new(&model, paren_like_data()).unwrap();
    let v = plain_all(&g, &[DatumId(1), DatumId(2)]);
    let out = g.output();
    let first = g.nodes().iter().find(|n| !n.ports.is_empty()).unwrap();
    for terms in [&g.nodes()[out.0].ports[0].terms, &first.ports[0].terms] {
        let site = Site::Nodes {
            nodes: terms.clone(),
            row: None,
        };
        let got = patched_outputs(&g, &[DatumId(1)], &[&v[0]], &[&v[1]], &site).unwrap();
        // Datum 2's padding mask differs from datum 1's: only the last stream is the whole
        // story there; the first stream is recomputed on datum 1's mask.
        if terms.len() == g.nodes()[out.0].ports[0].terms.len() {
            // The same logits up to the order the terms are summed in.
            for (a, b) in got[0].iter().zip(&v[1][out.0]) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        } else {
            assert_ne!(got[0], v[0][out.0]);
        }
    }
    // Patching a node with its own value changes nothing.
    let site = Site::Nodes {
        nodes: vec![g.find("blocks.0.attn.head.0").unwrap()],
        row: None,
    };
    let same = patched_outputs(&g, &[DatumId(1)], &[&v[0]], &[&v[0]], &site).unwrap();
    assert_eq!(
        same,
        recomputed_outputs(&g, &[DatumId(1)], &[&v[0]]).unwrap()
    );
}

#[test]
fn attribution_equals_the_actual_effect_where_the_model_is_linear() {
    // No normalisation and a score linear in the logits: edges into the output are linear.
    let mut cfg = paren_like_config(AttentionKind::Bidirectional, PositionalKind::Standard);
    cfg.normalization = Normalization::None;
    let model = random_model(&cfg, 8, 0.4);
    let g = TransformerGraph::new(&model, paren_like_data()).unwrap();
    let w = random(cfg.n_ctx * cfg.d_vocab_out, 3);
    let score = |_: DatumId, out: &[f32]| (dot(out, &w), false);
    let gradient = |_: DatumId, _: &[f32]| w.clone();
    let pairs = [
        (DatumId(0), DatumId(1)),
        (DatumId(2), DatumId(3)),
        (DatumId(1), DatumId(2)),
    ];
    let spec = AttributionSpec {
        pairs: &pairs,
        score: &score,
        gradient: &gradient,
        actual: true,
    };
    let selection = Selection {
        stream_rows: vec![2],
        edges: true,
    };
    let cands = candidates(&g, &selection);
    let results = attribute(&g, &cands, &spec, &Silent).unwrap().candidates;
    let into_output: Vec<&CandidateResult> = results
        .iter()
        .filter(|r| r.kind == Kind::Edge && r.name.ends_with("-> unembed.in"))
        .collect();
    assert_eq!(
        into_output.len(),
        g.nodes()[g.output().0].ports[0].terms.len()
    );
    // The actual effect is a difference of two f32 scores, so its rounding error scales with
    // the size of the scores (hundreds here), not with the effect itself.
    let scale = into_output
        .iter()
        .flat_map(|r| r.actual_per_sample.as_ref().unwrap())
        .fold(0.0f64, |m, b| m.max(b.abs()));
    for r in into_output {
        let actual = r.actual_per_sample.as_ref().unwrap();
        for (a, b) in r.attribution_per_sample.iter().zip(actual) {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()) + 1e-6 * scale,
                "{}: {a} vs {b}",
                r.name
            );
        }
    }
    // So is patching the whole final residual stream, read by the output alone.
    let last = results
        .iter()
        .find(|r| r.name == "resid into unembed")
        .unwrap();
    let actual = last.actual_per_sample.as_ref().unwrap();
    for (a, b) in last.attribution_per_sample.iter().zip(actual) {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "final stream: {a} vs {b}"
        );
    }
    let bias = results
        .iter()
        .find(|r| r.name == "blocks.0.attn.b_O")
        .unwrap();
    assert!(bias.constant && bias.attribution.mean == 0.0);
    assert_eq!(bias.actual.unwrap().mean, 0.0);
    // Per-row attributions add up to the whole.
    let head = results
        .iter()
        .find(|r| r.name == "blocks.1.attn.head.0")
        .unwrap();
    let rows: f64 = head.attribution_by_row.as_ref().unwrap().iter().sum();
    assert!((rows - head.attribution.mean).abs() < 1e-9 * (1.0 + rows.abs()));
    assert!(!head.constant);
}

#[test]
fn log_loss_and_log_odds_gradients_match_finite_differences() {
    let targets = |_: DatumId| vec![(0usize, 1u32), (2, 0)];
    let width = 3;
    check_metric(
        log_loss(targets, width),
        log_loss_gradient(targets, width),
        width,
    );
    check_metric(
        log_odds(targets, width),
        log_odds_gradient(targets, width),
        width,
    );
    // Two classes: the negative log-odds is the logit difference.
    let two = log_odds(|_: DatumId| vec![(0usize, 1u32)], 2);
    assert!((two(DatumId(0), &[0.5, 3.0]).0 - (0.5 - 3.0)).abs() < 1e-9);
}

fn check_metric(
    loss: impl Fn(DatumId, &[f32]) -> (f64, bool),
    grad: impl Fn(DatumId, &[f32]) -> Vec<f32>,
    width: usize,
) {
    let out = random(4 * width, 17);
    let g = grad(DatumId(0), &out);
    for j in 0..out.len() {
        let at = |h: f32| {
            let mut o = out.clone();
            o[j] += h;
            loss(DatumId(0), &o).0
        };
        let fd = (at(1e-3) - at(-1e-3)) / 2e-3;
        assert!(
            (fd - g[j] as f64).abs() < 1e-3,
            "logit {j}: {fd} vs {}",
            g[j]
        );
    }
}

#[test]
fn attribution_runs_on_the_log_loss_of_a_small_model() {
    let model = paren_like_model();
    let g = TransformerGraph::new(&model, paren_like_data()).unwrap();
    let targets = |d: DatumId| vec![(0usize, d.0 % 2)];
    let score = log_loss(targets, 2);
    let gradient = log_loss_gradient(targets, 2);
    let pairs = [
        (DatumId(0), DatumId(1)),
        (DatumId(1), DatumId(0)),
        (DatumId(2), DatumId(3)),
    ];
    let spec = AttributionSpec {
        pairs: &pairs,
        score: &score,
        gradient: &gradient,
        actual: true,
    };
    let cands = candidates(&g, &Selection::default());
    let run = attribute(&g, &cands, &spec, &Silent).unwrap();
    let results = run.candidates;
    assert_eq!(results.len(), cands.len());
    // The references' own metric is the model's loss on them.
    let out = g.output();
    for (&(r, _), m) in pairs.iter().zip(&run.reference_metric) {
        let plain = g.plain(&[r], &[out]).unwrap().remove(0).remove(0);
        let want = score(r, &plain).0;
        assert!((m - want).abs() < 1e-5, "reference metric {m} vs {want}");
    }
    // The first residual stream patched whole is the corrupted datum's embedding: its actual
    // effect is large and not what a first-order expansion says.
    assert!(results.iter().any(|r| r.kind == Kind::Stream));
    assert!(results.iter().all(|r| r.attribution.n == 3));
}

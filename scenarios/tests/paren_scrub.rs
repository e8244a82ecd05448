//! Scrubbing the real paren model: the trivial hypotheses equal their closed forms, and a
//! 1a-shaped scrub equals an independent computation from cached per-head outputs.

mod common;

use common::*;
use scrub_core::experiment::Scenario;
use scrub_core::experiment::{scrub_file, RunSettings, Silent, Summary};
use scrub_core::forward::forward;
use scrub_core::metrics::target_outcome;
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::run::{run, sample};
use scrub_core::scrub::tree::{Tree, TreeId};
use scrub_core::{DatumId, TokenBatch};
use scrub_scenarios::paren::experiment::build_tree;
use scrub_scenarios::paren::scrub::ParenScrub;
use scrub_scenarios::DataDir;

fn scenario() -> ParenScrub {
    ParenScrub::load(&DataDir::resolve(Some(&data_dir())).unwrap(), None, 0).unwrap()
}

#[test]
fn trivial_hypotheses_match_their_closed_forms() {
    let s = scenario();
    let g = s.graph().unwrap();
    let settings = RunSettings {
        samples: 2000,
        first_sample: 0,
        seed: 0,
        cache: None,
        progress: &Silent,
    };
    let [f0a, f0b] = s.baselines().unwrap();
    let stats = |f: &HypothesisFile| {
        let o = scrub_file(&s, &g, &g, f, &settings, "baseline").unwrap();
        Summary::of(&o, true, &[]).expect("2000 samples").loss
    };
    let (a, b) = (stats(&f0a.file), stats(&f0b.file));

    // Closed forms over the whole pool from the plain model: 0a is the model's own loss;
    // 0b is the loss with labels shuffled, Σ_c π_c · mean_x(−log p_x(c)).
    let n = s.dataset.len();
    let mut plain_loss = 0.0;
    let mut loss_as = [0.0f64; 2];
    let mut counts = [0usize; 2];
    for lo in (0..n).step_by(4096) {
        let hi = (lo + 4096).min(n);
        let logits = forward(&s.model, &s.dataset.batch(lo..hi), None);
        let batch = s.dataset.batch(lo..hi);
        for (k, e) in s.dataset.examples[lo..hi].iter().enumerate() {
            let row = logits.row(batch.offsets()[k]);
            plain_loss += target_outcome(row, e.label() as usize).loss as f64;
            for (c, acc) in loss_as.iter_mut().enumerate() {
                *acc += target_outcome(row, c).loss as f64;
            }
            counts[e.label() as usize] += 1;
        }
    }
    plain_loss /= n as f64;
    let shuffled: f64 = (0..2)
        .map(|c| counts[c] as f64 / n as f64 * loss_as[c] / n as f64)
        .sum();
    assert!(
        a.mean < 0.01 && (a.mean - plain_loss).abs() <= 4.0 * a.stderr + 1e-4,
        "0a {} ± {} vs model {plain_loss}",
        a.mean,
        a.stderr
    );
    assert!(
        (b.mean - shuffled).abs() <= 4.0 * b.stderr,
        "0b {} ± {} vs shuffled-label loss {shuffled}",
        b.mean,
        b.stderr
    );
    assert!(b.mean > 1.0, "0b is far from the model: {}", b.mean);
}

/// Scrubs the shipped hypothesis `name` (1a or 1b) through the engine and recomputes every
/// sample independently from cached per-head outputs.
fn check_against_independent_computation(name: &str) {
    let s = scenario();
    let g = s.graph().unwrap();
    let path = format!("{}/paren/hypotheses/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    let file = HypothesisFile::load(std::path::Path::new(&path)).unwrap();
    let tree = build_tree(&s, &g, &g, &file).unwrap();
    let slot_of = |p: &str| {
        tree.find(p)
            .unwrap_or_else(|| panic!("{name} has no node {p}"))
    };
    let (h10, h20, h21, rest) = (
        slot_of("out/1.0"),
        slot_of("out/2.0"),
        slot_of("out/2.1"),
        slot_of("out/in~rest"),
    );
    assert_eq!(
        tree.nodes.len(),
        5,
        "out, three heads and one unimportant remainder"
    );

    let cols = s.columns(&tree.features()).unwrap();
    let score = s.score();
    let spec = s.spec(&cols, &score, 300, 4);
    let engine = run(&g, &tree, &spec, &mut |_| {}).unwrap();
    let assignment = sample(&tree, &spec).unwrap();

    // Independently: cached hook_result of each picked head on its datum, plus the final
    // residual stream minus those heads on the random datum, through ln_final and W_U.
    let cfg = &s.model.config;
    let d = cfg.d_model;
    let padded = |id: DatumId| {
        let mut t = s.dataset.examples[id.index()].tokens();
        t.resize(cfg.n_ctx, scrub_scenarios::paren::token::PAD);
        t
    };
    let cache_of = |id: DatumId| {
        let mut c = Vec::new();
        forward(
            &s.model,
            &TokenBatch::from_sequences([padded(id).as_slice()]),
            Some(&mut c),
        );
        c.remove(0)
    };
    let head_at0 = |c: &scrub_core::hooks::ActivationCache, l: usize, h: usize| -> Vec<f32> {
        c.get(&format!("blocks.{l}.attn.hook_result")).unwrap().data[h * d..(h + 1) * d].to_vec()
    };
    for (k, o) in engine.iter().enumerate() {
        let slot = |id: TreeId| assignment.get(k, Tree::slot(id));
        let (c1, c2, c3, cr) = (
            cache_of(slot(h10)),
            cache_of(slot(h20)),
            cache_of(slot(h21)),
            cache_of(slot(rest)),
        );
        let mut x = cr
            .get(&format!("blocks.{}.hook_resid_post", cfg.n_layers - 1))
            .unwrap()
            .data[..d]
            .to_vec();
        for (c, l, h) in [(&cr, 1, 0), (&cr, 2, 0), (&cr, 2, 1)] {
            x.iter_mut()
                .zip(head_at0(c, l, h))
                .for_each(|(a, b)| *a -= b);
        }
        for (c, l, h) in [(&c1, 1, 0), (&c2, 2, 0), (&c3, 2, 1)] {
            x.iter_mut()
                .zip(head_at0(c, l, h))
                .for_each(|(a, b)| *a += b);
        }
        let mean = x.iter().sum::<f32>() / d as f32;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let ln = s.model.weights.ln_final.as_ref().unwrap();
        let y: Vec<f32> = (0..d)
            .map(|j| (x[j] - mean) / (var + cfg.ln_eps).sqrt() * ln.w[j] + ln.b[j])
            .collect();
        let logits: Vec<f32> = (0..2)
            .map(|c| {
                s.model.weights.b_u[c]
                    + (0..d)
                        .map(|j| y[j] * s.model.weights.w_u[j * 2 + c])
                        .sum::<f32>()
            })
            .collect();
        let label = s.dataset.examples[assignment.get(k, Tree::reference_slot()).index()].label();
        let want = target_outcome(&logits, label as usize).loss as f64;
        assert!(
            (o.loss - want).abs() <= 1e-4 * want.max(1.0),
            "sample {k}: engine {} vs independent {want}",
            o.loss
        );
    }
}

#[test]
fn hypotheses_1a_and_1b_equal_an_independent_computation() {
    check_against_independent_computation("1a");
    check_against_independent_computation("1b");
}

//! The ground-truth suite (`scenarios/groundtruth/tasks`, written by
//! `scenarios/groundtruth/compile.py` from Tracr): the project's forward reproduces Tracr's
//! own residual stream and decoded outputs, and `scrub groundtruth` finds, through the real
//! binary, what every program's `expect.ron` says.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use safetensors::SafeTensors;
use scrub_core::dataset::Values;
use scrub_core::forward::forward;
use scrub_core::hooks::ActivationCache;
use scrub_core::{DatumId, TokenBatch, TokenId};
use scrub_scenarios::task::Task;

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/groundtruth/tasks");
const PROGRAMS: [&str; 6] = [
    "frac_prevs",
    "hist",
    "length",
    "reverse",
    "shuffle_dyck",
    "sort_unique",
];

fn program(name: &str) -> PathBuf {
    Path::new(SUITE).join(name)
}

fn floats(st: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st.tensor(name).unwrap();
    let v = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (t.shape().to_vec(), v)
}

/// After the embeddings and after every attention and MLP sublayer, the residual stream on
/// the check data (full-length and padded) is Tracr's within 1e-4 of its scale.
#[test]
fn the_forward_reproduces_tracrs_residual_stream() {
    for name in PROGRAMS {
        let task = Task::open(&program(name)).unwrap();
        let bytes = std::fs::read(program(name).join("check.safetensors")).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let t = st.tensor("tokens").unwrap();
        let (n, len) = (t.shape()[0], t.shape()[1]);
        let toks: Vec<TokenId> = t
            .data()
            .chunks_exact(8)
            .map(|b| TokenId(i64::from_le_bytes(b.try_into().unwrap()) as u32))
            .collect();
        let (shape, resid) = floats(&st, "residuals");
        let layers = task.model.config.n_layers;
        assert_eq!(shape[..3], [n, 1 + 2 * layers, len], "{name}");
        let d = shape[3];
        let batch = TokenBatch::from_sequences(toks.chunks(len));
        let mut caches: Vec<ActivationCache> = Vec::new();
        forward(&task.model, &batch, Some(&mut caches));
        let mut worst = 0.0f32;
        for s in 0..n {
            for k in 0..1 + 2 * layers {
                let hook = match k {
                    0 => "blocks.0.hook_resid_pre".to_string(),
                    k if k % 2 == 1 => format!("blocks.{}.hook_resid_mid", k / 2),
                    k => format!("blocks.{}.hook_resid_post", k / 2 - 1),
                };
                let got = &caches[s]
                    .get(&hook)
                    .unwrap_or_else(|| panic!("{hook}"))
                    .data;
                let want = &resid[(s * (1 + 2 * layers) + k) * len * d..][..len * d];
                // Pad positions are never read: attention masks their keys, the metric
                // scores only real positions.
                let real = toks[s * len..(s + 1) * len]
                    .iter()
                    .take_while(|&&t| Some(t.0) != task.model.config.pad_token)
                    .count();
                let (got, want) = (&got[..real * d], &want[..real * d]);
                let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                let diff = got
                    .iter()
                    .zip(want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    diff <= 1e-4 * scale,
                    "{name}: datum {s}, {hook}: max |Δ| = {diff} (scale {scale})"
                );
                worst = worst.max(diff / scale);
            }
        }
        eprintln!("{name}: {n} data, residual stream within {worst:.1e} of Tracr's");
    }
}

/// On every datum, the model's output at every scored position is the program's: the
/// argmax is the label (categorical), or the value is the target within 1e-3 (numerical).
#[test]
fn the_forward_decodes_to_the_programs_output_on_every_datum() {
    for name in PROGRAMS {
        let task = Task::open(&program(name)).unwrap();
        let data = &task.dataset;
        let seqs: Vec<Vec<TokenId>> = (0..data.len())
            .map(|d| {
                data.tokens(DatumId(d as u32))
                    .iter()
                    .map(|&t| TokenId(t))
                    .collect()
            })
            .collect();
        let batch = TokenBatch::from_sequences(seqs.iter().map(Vec::as_slice));
        let logits = forward(&task.model, &batch, None);
        let width = task.model.config.d_vocab_out;
        let scored = data.column("scored").unwrap();
        let mut row = 0;
        let mut checked = 0;
        for d in 0..data.len() {
            let id = DatumId(d as u32);
            let on = scored.bools_at(id).unwrap();
            for (p, &s) in on.iter().enumerate() {
                let out = &logits.data[(row + p) * width..(row + p + 1) * width];
                if s {
                    match &data
                        .column(if width == 1 { "target" } else { "label" })
                        .unwrap()
                        .values
                    {
                        Values::Float(_) => {
                            let want = data.column("target").unwrap().floats_at(id).unwrap()[p];
                            assert!(
                                (out[0] as f64 - want).abs() <= 1e-3,
                                "{name}: datum {d} position {p}: {} vs {want}",
                                out[0]
                            );
                        }
                        Values::Int(_) => {
                            let want = data.column("label").unwrap().ints_at(id).unwrap()[p];
                            let best = (0..width)
                                .max_by(|&a, &b| out[a].total_cmp(&out[b]))
                                .unwrap();
                            assert_eq!(
                                best as i64, want,
                                "{name}: datum {d} position {p}: {out:?}"
                            );
                        }
                        other => panic!("{name}: unexpected target kind {}", other.kind()),
                    }
                    checked += 1;
                }
            }
            row += on.len();
        }
        assert!(checked >= data.len(), "{name}: {checked} positions checked");
    }
}

/// The whole suite through the binary: every expectation of every program's `expect.ron`
/// holds (the command checks them and fails otherwise) — each true hypothesis recovers the
/// model's loss and survives a budget-4 attack, each left-out and wrong-variable one is
/// lower or exposed, each washout scores above what the adversary leaves it and is exposed
/// by a tie of its split parts; and the hypothesis `scrub discover` finds on each holds the
/// true circuit's heads and MLPs (F1 ≥ 0.9), keeps its threshold and survives.
#[test]
fn scrub_groundtruth_finds_what_every_program_expects() {
    let out_dir = temp_dir("groundtruth");
    let out = scrub(&[
        "groundtruth",
        "--samples",
        "500",
        "--executor",
        "cpu",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "groundtruth failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let programs = json(&out);
    let programs = programs.as_array().unwrap();
    let names: Vec<&str> = programs
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, PROGRAMS);
    let mut washouts = 0;
    for p in programs {
        let outcomes = p["outcomes"].as_array().unwrap();
        let hs: Vec<&str> = outcomes
            .iter()
            .map(|o| o["hypothesis"].as_str().unwrap())
            .collect();
        for h in ["true", "left_out", "wrong_var", "discovered"] {
            assert!(hs.contains(&h), "{}: no `{h}` hypothesis", p["name"]);
        }
        for o in outcomes {
            let h = o["hypothesis"].as_str().unwrap();
            let pct = o["pct_recovered"].as_f64().unwrap();
            assert_eq!(o["as_expected"], true, "{}/{h}: {}", p["name"], o["why"]);
            match h {
                "true" => assert!(pct >= 99.0 && o["survives"] == true, "{}: {pct}", p["name"]),
                "discovered" => {
                    let f1 = o["truth"]["f1"].as_f64().unwrap();
                    assert!(f1 >= 0.9 && o["survives"] == true, "{}: F1 {f1}", p["name"]);
                    assert!(o["found"].as_str().unwrap().contains("Hypothesis("));
                }
                "washout" => {
                    washouts += 1;
                    let after = o["attacked_pct"].as_f64().unwrap();
                    assert!(
                        o["survives"] == false && pct > after,
                        "{}: {pct} → {after}",
                        p["name"]
                    );
                }
                _ => {}
            }
        }
    }
    assert!(washouts >= 1, "no washout in the suite");
    for f in ["groundtruth.md", "groundtruth.json"] {
        assert!(out_dir.join(f).is_file(), "{f} not written");
    }
}

//! What each fuzz target does with one input, kept apart from libFuzzer so that the normal
//! test suite replays saved crashing inputs through the same code
//! (scenarios/tests/fuzz_regressions.rs includes this file). An input may be rejected with
//! an error; it must never panic, hang or exhaust memory.

use std::path::{Path, PathBuf};

use scrub_core::config::ModelConfig;
use scrub_core::scrub::hypothesis::{FeatureNames, HypothesisFile, NameResolver};
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::testing::{paren_like_data, paren_like_model};
use scrub_core::weights::{Model, Weights};
use scrub_scenarios::induction::subset_file::SubsetFile;
use scrub_scenarios::induction::tokens_file::{sidecar, TokenFile};
use scrub_scenarios::paren::data::ParenDataset;

thread_local! {
    static MODEL: &'static Model = Box::leak(Box::new(paren_like_model()));
    static GRAPH: &'static TransformerGraph<'static> =
        Box::leak(Box::new(TransformerGraph::new(MODEL.with(|m| *m), paren_like_data()).unwrap()));
    static WEIGHTS: Vec<u8> = MODEL.with(|m| {
        let p = scratch("weights.safetensors");
        m.weights.save(&m.config, &p).unwrap();
        std::fs::read(&p).unwrap()
    });
}

/// A file of this process in the temporary folder, for parsers that read paths.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("scrub-fuzz-{}-{name}", std::process::id()))
}

/// A hypothesis file: parsed, written back (which must parse to an equal value), its
/// rewrites checked and its tree built over a small paren-shaped model and written out.
pub fn hypothesis(data: &[u8]) {
    let Ok(text) = scrub_core::text::decode(data) else {
        return;
    };
    let Ok(h) = HypothesisFile::parse(text, Path::new("fuzz.ron")) else {
        return;
    };
    let again = HypothesisFile::parse(&h.to_ron(), Path::new("again.ron"))
        .unwrap_or_else(|e| panic!("to_ron does not parse back: {e}\n{}", h.to_ron()));
    assert_eq!(again, h, "to_ron changes the hypothesis:\n{}", h.to_ron());
    GRAPH.with(|g| {
        let names = NameResolver::transformer(g);
        let mut features: Vec<String> = ["is_balanced", "count_open", "horizon"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        features.extend((1..=6).map(|i| format!("horizon_at({i})")));
        let features = FeatureNames::exact(features);
        let _ = h.check_rewrites(*g, &names);
        if let Ok(tree) = h.build_tree(*g, &names, &features) {
            let _ = h.with_tree(&tree, *g);
        }
    });
}

/// A model config: parsed and checked, then the small model's weights loaded under it.
pub fn model_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = ModelConfig::from_ron_str(text, Path::new("fuzz.ron")) else {
        return;
    };
    WEIGHTS.with(|w| {
        let _ = Weights::from_safetensors_bytes(&cfg, w, Path::new("fuzz.safetensors"));
    });
}

/// A safetensors file (header and data) read against the small model's config.
pub fn safetensors(data: &[u8]) {
    MODEL.with(|m| {
        let _ = Weights::from_safetensors_bytes(&m.config, data, Path::new("fuzz.safetensors"));
    });
}

/// The paren data file; the first byte is n_ctx.
pub fn paren_data(data: &[u8]) {
    let Some((&n_ctx, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(d) = ParenDataset::parse(text, Path::new("fuzz.json"), n_ctx as usize) {
        let n = d.len();
        let _ = d.batch(0..n);
        let _ = d.targets(0..n);
        let _ = d.balanced_fraction();
    }
}

/// An induction token file: two bytes give the length of the JSON sidecar that follows, the
/// rest is the u16 file; both are written where `TokenFile::read` looks.
pub fn induction_tokens(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let n = (u16::from_le_bytes(*len) as usize).min(rest.len());
    let (meta, tokens) = rest.split_at(n);
    let path = scratch("tokens.u16");
    std::fs::write(sidecar(&path), meta).unwrap();
    std::fs::write(&path, tokens).unwrap();
    if let Ok(f) = TokenFile::read(&path) {
        if let Some(seqs) = f.sequences() {
            let _ = seqs.count();
        }
    }
}

/// The induction `subset.json` file.
pub fn induction_subset(data: &[u8]) {
    let path = scratch("subset.json");
    std::fs::write(&path, data).unwrap();
    // The committed model's vocabulary: ids at or past it must be refused, not used.
    if let Ok(f) = SubsetFile::load(&path, 2048) {
        assert!(f.ids().iter().all(|&id| id < 2048));
    }
}

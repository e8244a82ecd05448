//! Inputs the fuzzers of fuzz/ crashed on, replayed through the same harness
//! (fuzz/src/lib.rs) so that CI, which has no fuzzer, keeps them fixed; the fuzzers' seeds
//! are replayed too. Each input must be accepted or rejected with an error, never panic.

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;

/// Runs `harness` on every file in `dir`; returns how many there were.
fn replay_dir(dir: &Path, harness: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        let run = std::panic::catch_unwind(|| harness(&bytes));
        assert!(run.is_ok(), "{} panics", p.display());
        n += 1;
    }
    n
}

/// Replays the saved crashes and the seeds of `target`.
fn replay(target: &str, harness: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    replay_dir(&root.join("tests/fuzz_regressions").join(target), harness);
    let seeds = replay_dir(&root.join("../fuzz/seeds").join(target), harness);
    assert!(seeds > 0, "no seeds for {target}");
}

#[test]
fn hypothesis_files() {
    replay("hypothesis", harness::hypothesis);
}

#[test]
fn model_configs() {
    replay("model_config", harness::model_config);
}

#[test]
fn safetensors_files() {
    replay("safetensors", harness::safetensors);
}

#[test]
fn paren_data_files() {
    replay("paren_data", harness::paren_data);
}

#[test]
fn induction_token_files() {
    replay("induction_tokens", harness::induction_tokens);
}

#[test]
fn induction_subset_files() {
    replay("induction_subset", harness::induction_subset);
}

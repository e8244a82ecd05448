//! The memory budget through the real binary: batches sized from it keep the peak resident
//! memory flat in the sample count and change no number.

mod common;

use common::*;

/// `scrub run` of paren hypothesis 4 on `samples` samples within `budget`: the JSON result
/// and the peak resident memory the binary logs, in bytes.
fn run(samples: usize, budget: &str) -> (serde_json::Value, f64) {
    let h = format!("{}/paren/hypotheses/4.ron", env!("CARGO_MANIFEST_DIR"));
    let dir = data_dir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args([
            "--memory-budget",
            budget,
            "run",
            &h,
            "--data-dir",
            dir.to_str().unwrap(),
            "--samples",
            &samples.to_string(),
            "--seed",
            "5",
            "--executor",
            "cpu",
            "--json",
            "--quiet",
        ])
        .env_remove("SCRUB_DATA")
        .env("RUST_LOG", "info")
        .output()
        .expect("scrub runs");
    let j = json(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    let gb: f64 = err
        .split("peak resident memory ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak in the log: {err}"));
    (j, gb * 1e9)
}

#[test]
fn peak_memory_does_not_grow_with_the_sample_count() {
    // A budget small enough that 200 samples already fill a batch and the caches.
    let (_, small) = run(200, "48M");
    let (_, large) = run(2000, "48M");
    assert!(
        large <= small * 1.2,
        "peak {:.1} MB at 2,000 samples against {:.1} MB at 200",
        large / 1e6,
        small / 1e6
    );
}

#[test]
fn the_budget_changes_no_number() {
    let (tight, _) = run(600, "24M");
    let (roomy, _) = run(600, "4G");
    for k in ["loss", "stderr", "pct_recovered", "accuracy"] {
        assert_eq!(tight[k], roomy[k], "{k}: {tight} vs {roomy}");
    }
}

//! Helpers shared by the end-to-end tests: the real `scrub` binary and the data directory.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The data directory from `SCRUB_DATA` (relative paths are taken from the workspace root);
/// fails the test with instructions when it is not set.
pub fn data_dir() -> PathBuf {
    let v = std::env::var_os("SCRUB_DATA").expect(
        "these tests read the real paren model: set SCRUB_DATA to the folder holding paren/brackets_model.safetensors (see README)",
    );
    let p = PathBuf::from(v);
    let p = if p.is_relative() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
    } else {
        p
    };
    assert!(
        p.join("paren/brackets_model.safetensors").is_file(),
        "SCRUB_DATA={} holds no paren/brackets_model.safetensors",
        p.display()
    );
    p
}

/// Runs `scrub` with `args`, with SCRUB_DATA removed so only explicit flags count.
pub fn scrub(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args(args)
        .env_remove("SCRUB_DATA")
        .env("RUST_LOG", "warn")
        .output()
        .expect("scrub runs")
}

/// stdout parsed as one JSON object; panics with stderr when the run failed.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "scrub failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scrub-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("paren")).unwrap();
    d
}

/// Asserts a failed run with a clear message and no panic.
pub fn assert_clean_failure(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert!(
        !err.contains("panicked"),
        "panicked instead of reporting: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

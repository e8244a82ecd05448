//! The PyTorch peer of a scrubbing bench (`benches/reference/torch_scrub.py`: the same
//! hypothesis scrubbed with hooks, the way a researcher would), run on the same samples and
//! thread count in the same process's run, so the ratio compares like with like. Set
//! `SCRUB_TORCH_PYTHON` to a Python that has torch; without it the peer is skipped, saying so.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// One hypothesis's rates: scrub's (timed here, scrubbing only) and the peer's.
pub struct PeerRow {
    pub hypothesis: String,
    pub samples: usize,
    pub scrub_samples_per_s: f64,
    pub torch_samples_per_s: Option<f64>,
    pub note: String,
}

/// Samples/s of `scrub` (one full scrub of `samples` samples), the median of three runs.
pub fn time_scrub(samples: usize, mut scrub: impl FnMut()) -> f64 {
    let mut secs: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            scrub();
            t.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    samples as f64 / secs[1]
}

/// The peer's samples/s on `hypothesis` (a `torch_scrub.py --hypothesis` name), or why not.
pub fn torch_rate(
    hypothesis: &str,
    samples: usize,
    data_dir: Option<&Path>,
) -> Result<f64, String> {
    let python = std::env::var_os("SCRUB_TORCH_PYTHON")
        .ok_or("set SCRUB_TORCH_PYTHON to a Python with torch to time the PyTorch peer")?;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!(
        "scrub-peer-{}-{hypothesis}.json",
        std::process::id()
    ));
    let mut cmd = std::process::Command::new(python);
    cmd.arg(repo.join("benches/reference/torch_scrub.py"))
        .args([
            "--hypothesis",
            hypothesis,
            "--samples",
            &samples.to_string(),
            "--seed",
            "0",
        ])
        .args(["--threads", &rayon_threads().to_string()])
        .arg("--json")
        .arg(&out);
    if let Some(d) = data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    let run = cmd
        .output()
        .map_err(|e| format!("torch_scrub.py did not start: {e}"))?;
    if !run.status.success() {
        return Err(format!(
            "torch_scrub.py failed: {}",
            String::from_utf8_lossy(&run.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v[hypothesis]["samples_per_s"]
        .as_f64()
        .ok_or_else(|| format!("no samples_per_s for {hypothesis} in the peer's JSON"))
}

/// The threads scrub's pool runs on (the peer is given as many).
pub fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Prints the side-by-side table and writes it as JSON under `target/criterion/`.
pub fn report(bench: &str, rows: &[PeerRow]) {
    eprintln!(
        "{bench}: scrub (CPU graph) against the PyTorch peer, {} threads each",
        rayon_threads()
    );
    eprintln!(
        "{:<16} {:>8} {:>14} {:>14} {:>8}",
        "hypothesis", "samples", "scrub /s", "torch /s", "ratio"
    );
    let mut json = Vec::new();
    for r in rows {
        let (torch, ratio) = match r.torch_samples_per_s {
            Some(t) => (
                format!("{t:.1}"),
                format!("{:.2}", r.scrub_samples_per_s / t),
            ),
            None => ("-".into(), "-".into()),
        };
        eprintln!(
            "{:<16} {:>8} {:>14.1} {:>14} {:>8} {}",
            r.hypothesis, r.samples, r.scrub_samples_per_s, torch, ratio, r.note
        );
        json.push(serde_json::json!({
            "hypothesis": r.hypothesis,
            "samples": r.samples,
            "threads": rayon_threads(),
            "scrub_samples_per_s": r.scrub_samples_per_s,
            "torch_samples_per_s": r.torch_samples_per_s,
            "ratio": r.torch_samples_per_s.map(|t| r.scrub_samples_per_s / t),
            "note": r.note,
        }));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let path = dir.join(format!("{bench}-torch-peer.json"));
    if std::fs::create_dir_all(&dir).is_ok()
        && std::fs::write(
            &path,
            serde_json::to_string_pretty(&json).expect("serialises"),
        )
        .is_ok()
    {
        eprintln!("{bench}: written {}", path.display());
    }
}

/// A row for `hypothesis`, with the peer's rate or the reason it has none.
pub fn row(
    hypothesis: &str,
    peer_name: &str,
    samples: usize,
    scrub: f64,
    data_dir: Option<&Path>,
) -> PeerRow {
    let (torch, note) = match torch_rate(peer_name, samples, data_dir) {
        Ok(t) => (Some(t), String::new()),
        Err(e) => (None, format!("(peer: {e})")),
    };
    PeerRow {
        hypothesis: hypothesis.into(),
        samples,
        scrub_samples_per_s: scrub,
        torch_samples_per_s: torch,
        note,
    }
}

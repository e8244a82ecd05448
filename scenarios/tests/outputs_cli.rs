//! Nothing lost or half-written: unwritable output folders fail before any work, a report
//! set is written together or not at all (the results then go to stdout), `scrub join`
//! never overwrites its input, and commands of several parts keep what finished.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

fn hypothesis(name: &str) -> String {
    format!("{}/paren/hypotheses/{name}.ron", env!("CARGO_MANIFEST_DIR"))
}

/// Every entry of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A folder that cannot be created even by root: it would sit under a regular file.
fn unwritable(tmp: &Path) -> PathBuf {
    let file = tmp.join("plain-file");
    std::fs::write(&file, "not a folder").unwrap();
    file.join("sub")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_unwritable_out_fails_before_any_work() {
    let data = data_dir();
    let data = data.to_str().unwrap();
    let tmp = temp_dir("unwritable");
    let bad = unwritable(&tmp);
    let bad_s = bad.to_str().unwrap();
    let want = format!("cannot write {bad_s}");
    let commands: [Vec<&str>; 6] = [
        vec!["paren", "--samples", "50", "--data-dir", data],
        vec!["induction", "--samples", "50"],
        vec![
            "counterexample",
            "all",
            "--samples",
            "50",
            "--data-dir",
            data,
        ],
        vec!["experiments", "--samples", "50", "--data-dir", data],
        vec!["counterexample", "inhibition", "--samples", "50"],
        vec!["groundtruth", "--samples", "50"],
    ];
    for args in commands {
        let mut args = args;
        args.extend(["--out", bad_s, "--executor", "cpu", "--quiet"]);
        let start = Instant::now();
        let o = scrub(&args);
        assert_clean_failure(&o, &[&want]);
        // The check comes first: each of these runs takes longer when it gets to work.
        assert!(start.elapsed() < Duration::from_secs(5), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", stderr(&o));
    }
    // Before the data directory is even looked for.
    let o = scrub(&["paren", "--out", bad_s]);
    assert_clean_failure(&o, &[&want]);
    let out = bad.join("j.ron");
    let (a, b) = (hypothesis("1a"), hypothesis("1b"));
    let o = scrub(&["join", &a, &b, "-o", out.to_str().unwrap()]);
    assert_clean_failure(&o, &[&want]);
}

#[test]
fn a_report_that_cannot_be_written_replaces_none_and_the_results_reach_stdout() {
    let data = data_dir();
    let out = temp_dir("blocked");
    std::fs::write(out.join("paren.md"), "old").unwrap();
    // paren.md can be written, paren.json cannot: a folder is in its place.
    std::fs::create_dir(out.join("paren.json")).unwrap();
    let o = scrub(&[
        "paren",
        "--samples",
        "20",
        "--data-dir",
        data.to_str().unwrap(),
        "--executor",
        "cpu",
        "--quiet",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let blocked = out.join("paren.json");
    assert_clean_failure(
        &o,
        &[
            &format!("cannot write {}", blocked.display()),
            "the results could not be saved; they follow on stdout",
        ],
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("stdout is not the results' JSON ({e}): {}", stderr(&o));
    });
    assert_eq!(j["rows"].as_array().unwrap().len(), 11, "{j}");
    assert_eq!(
        std::fs::read_to_string(out.join("paren.md")).unwrap(),
        "old"
    );
    // No temporary file survives (`paren` is the folder temp_dir makes).
    assert_eq!(entries(&out), ["paren", "paren.json", "paren.md"]);
}

#[test]
fn join_never_overwrites_an_input_and_overwrites_another_file_only_with_force() {
    let data = data_dir();
    let data = data.to_str().unwrap();
    let tmp = temp_dir("join-out");
    let a = tmp.join("a.ron");
    let text = std::fs::read_to_string(hypothesis("1b")).unwrap();
    let text = format!("// my notes on 1b\n{text}");
    std::fs::write(&a, &text).unwrap();
    let link = tmp.join("link.ron");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let b = hypothesis("1a");
    let (a_s, b_s) = (a.to_str().unwrap(), b.as_str());
    let dotted = format!("{}/./a.ron", tmp.display());
    for o in [a_s, dotted.as_str(), link.to_str().unwrap()] {
        for force in [false, true] {
            let mut args = vec!["join", a_s, b_s, "-o", o, "--data-dir", data];
            if force {
                args.push("--force");
            }
            assert_clean_failure(&scrub(&args), &["is the input", "overwrite"]);
        }
    }
    // The second input counts too.
    let o = scrub(&["join", b_s, a_s, "-o", &dotted, "--data-dir", data]);
    assert_clean_failure(&o, &["is the input"]);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), text);

    let other = tmp.join("other.ron");
    std::fs::write(&other, "keep me").unwrap();
    let other_s = other.to_str().unwrap();
    let o = scrub(&["join", a_s, b_s, "-o", other_s, "--data-dir", data]);
    assert_clean_failure(&o, &["exists", "--force"]);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep me");
    let args = [
        "join",
        a_s,
        b_s,
        "-o",
        other_s,
        "--data-dir",
        data,
        "--force",
    ];
    let j = json(&scrub(&[&args[..], &["--json"]].concat()));
    assert_eq!(j["written"], other_s);
    let joined = std::fs::read_to_string(&other).unwrap();
    assert!(joined.contains("root:"), "{joined}");
    assert_eq!(entries(&tmp), ["a.ron", "link.ron", "other.ron", "paren"]);
}

/// The counterexamples `counterexamples.json` in `out` holds, by name.
fn saved_names(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("counterexamples.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    saved
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn counterexamples_that_finish_are_written_when_one_fails() {
    let data = data_dir();
    let out = temp_dir("ce-partial");
    // sneaking-knowledge needs hundreds of samples; the others finish on 50.
    let o = scrub(&[
        "counterexample",
        "all",
        "--samples",
        "50",
        "--budget",
        "1",
        "--data-dir",
        data.to_str().unwrap(),
        "--executor",
        "cpu",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(
        &o,
        &[
            "of 4 failed (what finished was written)",
            "sneaking-knowledge",
        ],
    );
    let err = stderr(&o);
    let error = err.lines().find(|l| l.starts_with("error: ")).unwrap();
    let saved = saved_names(&out);
    let md = std::fs::read_to_string(out.join("counterexamples.md")).unwrap();
    // Each one is either in the reports or named as failed, never both.
    for name in [
        "paren-washout",
        "polysemanticity",
        "sneaking-knowledge",
        "inhibition",
    ] {
        let failed = error.contains(&format!("): {name}")) || error.contains(&format!("; {name}"));
        assert_ne!(saved.contains(&name.to_string()), failed, "{name}: {error}");
        assert_eq!(md.contains(&format!("\n- {name}")), failed, "{name}: {md}");
    }
    assert!(
        !saved.contains(&"sneaking-knowledge".to_string()),
        "{saved:?}"
    );
    for name in ["polysemanticity", "inhibition"] {
        assert!(saved.contains(&name.to_string()), "{saved:?}");
    }
    assert!(
        md.contains("## Failed\n\nThese counterexamples did not finish:\n"),
        "{md}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("inhibition"));
    assert_eq!(
        entries(&out),
        ["counterexamples.json", "counterexamples.md", "paren"]
    );
}

#[test]
fn experiments_keep_every_finished_part_when_one_fails() {
    // A data folder without the paren model: the paren table and the washout fail, the
    // induction table (its model is committed) and the other counterexamples do not
    // (sneaking-knowledge fails too: it needs 800 samples; at 50 the others' baselines are
    // clearly apart, at 10 polysemanticity's are not).
    let empty = temp_dir("experiments-no-data");
    let out = temp_dir("experiments-partial");
    let o = scrub(&[
        "experiments",
        "--samples",
        "50",
        "--data-dir",
        empty.to_str().unwrap(),
        "--executor",
        "cpu",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(
        &o,
        &[
            "2 of 4 failed (what finished was written)",
            "the paren table (0a–4): ",
            "brackets_model.safetensors",
            "the counterexamples: ",
            "paren-washout",
        ],
    );
    for f in [
        "induction.md",
        "induction.json",
        "counterexamples.md",
        "counterexamples.json",
        "groundtruth.md",
        "groundtruth.json",
    ] {
        assert!(out.join(f).is_file(), "{f} not written");
    }
    assert!(!out.join("paren.md").exists());
    let saved = saved_names(&out);
    assert!(saved.contains(&"inhibition".to_string()), "{saved:?}");
    assert!(!saved.contains(&"paren-washout".to_string()), "{saved:?}");
}

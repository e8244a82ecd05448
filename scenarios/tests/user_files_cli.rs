//! Hypothesis files as people write and save them, through the real `scrub run`: a feature
//! spelt other than the scenario spells it, a tuple written `a&b`, a rewrite of a missing
//! term, bytes that are not UTF-8 and a byte-order mark. Each fails at its file position with
//! what to write instead, or (the byte-order mark) runs.

mod common;

use common::*;

fn hypothesis_1b() -> String {
    let p = format!("{}/paren/hypotheses/1b.ron", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(p).unwrap()
}

/// `scrub run` on `bytes` saved as `name` in a fresh folder.
fn run(name: &str, bytes: &[u8]) -> (std::process::Output, String) {
    let dir = data_dir();
    let tmp = temp_dir(name);
    let p = tmp.join(format!("{name}.ron"));
    std::fs::write(&p, bytes).unwrap();
    let out = scrub(&[
        "run",
        p.to_str().unwrap(),
        "--samples",
        "20",
        "--executor",
        "cpu",
        "--data-dir",
        dir.to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    (out, p.display().to_string())
}

/// `path:line:column` of the first `needle` in `text`.
fn at(path: &str, text: &str, needle: &str) -> String {
    let i = text.find(needle).unwrap();
    let line = text[..i].matches('\n').count() + 1;
    let column = text[..i].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{path}:{line}:{column}")
}

#[test]
fn a_feature_spelt_otherwise_is_rejected_at_its_position_with_the_spelling_to_write() {
    for (i, (written, canonical)) in [
        ("horizon_at(05)", "horizon_at(5)"),
        (" horizon", "horizon"),
        ("horizon&count_open", "horizon & count_open"),
    ]
    .into_iter()
    .enumerate()
    {
        let text = hypothesis_1b().replacen("\"count_open\"", &format!("{written:?}"), 1);
        let (out, path) = run(&format!("spelling{i}"), text.as_bytes());
        let needle = format!("Some({written:?})");
        assert_clean_failure(
            &out,
            &[
                &at(&path, &text, &needle),
                &format!("feature `{written}` is not spelt"),
                &format!("write `{canonical}`"),
            ],
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("was not provided to the run"),
            "{written}"
        );
    }
}

#[test]
fn a_rewrite_of_a_missing_term_is_reported_at_the_term() {
    let text = hypothesis_1b().replacen(
        "root:",
        "rewrites: [Predict(term: \"0.9\", predictor: \"phi\")],\n    root:",
        1,
    );
    let (out, path) = run("rewrite", text.as_bytes());
    assert_clean_failure(&out, &[&at(&path, &text, "\"0.9\""), "unknown term `0.9`"]);
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_the_bad_byte() {
    let text = hypothesis_1b();
    let i = text.find("horizon").unwrap();
    let mut bytes = text.clone().into_bytes();
    bytes[i] = 0xe9;
    let (out, path) = run("latin1", &bytes);
    assert_clean_failure(
        &out,
        &[
            &at(&path, &text, "horizon"),
            &format!("byte offset {i}"),
            "UTF-8",
        ],
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let text = format!("\u{feff}{}", hypothesis_1b());
    let (out, _) = run("bom", text.as_bytes());
    let j = json(&out);
    assert_eq!(j["samples"], 20, "{j}");
}

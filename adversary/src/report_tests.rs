use scrub_core::scrub::run::SampleOutcome;
use scrub_core::scrub::tree::Tree;
use scrub_core::DatumId;

use super::*;
use crate::moves::tests::split_tree;
use crate::search::{attack, SearchConfig};

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

/// An attack on the toy tree where no move changes anything (it survives).
fn survived() -> Attack {
    let mut s = |_: &Tree, n: usize| -> Result<Vec<SampleOutcome>, Never> {
        Ok((0..n)
            .map(|i| SampleOutcome {
                reference: DatumId(i as u32),
                loss: 2.0 + (i % 3) as f64,
                correct: true,
            })
            .collect())
    };
    let config = SearchConfig {
        library: Vec::new(),
        budget: 1,
        samples: 10,
        baselines: (0.0, 10.0),
        tolerance: Tolerance::default(),
        prune: None,
    };
    attack(&split_tree(), &config, &mut s, &mut |_| {}).unwrap()
}

fn score(pct: f64) -> Score {
    Score {
        loss: (100.0 - pct) / 10.0,
        stderr: 0.01,
        pct_recovered: pct,
        pct_stderr: 0.1,
    }
}

#[test]
fn given_moves_are_listed_and_the_start_is_labelled_after_them_beside_the_files_score() {
    let a = survived();
    let given = vec![a.last_scan[0].mv.clone()];
    let r = AttackReport::new(
        "toy",
        10,
        0,
        [("low", 0.0), ("high", 10.0)],
        Tolerance::default(),
        &a,
    )
    .with_given_moves(given.clone(), score(93.0));
    let desc = &given[0].description;
    let term = r.terminal();
    assert!(term.contains("93.0 ± 0.1"), "{term}");
    assert!(term.contains("the hypothesis file's own score"), "{term}");
    assert!(term.contains(desc.as_str()), "{term}");
    assert!(
        term.contains("(the hypothesis after the given moves)"),
        "{term}"
    );
    let md = r.markdown();
    assert!(md.contains("own score: loss 0.7000"), "{md}");
    assert!(md.contains(&format!("- {desc}")), "{md}");
    assert!(md.contains("Initial, after the given moves: loss"), "{md}");
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["given_moves"][0]["description"], desc.as_str());
    assert_eq!(j["file_score"]["pct_recovered"], 93.0);
    assert!(j["initial"]["pct_recovered"].is_number());
    assert!(j["deciding_move"].is_null());
}

#[test]
fn without_given_moves_the_report_says_so_and_keeps_the_plain_label() {
    let a = survived();
    let r = AttackReport::new(
        "toy",
        10,
        0,
        [("low", 0.0), ("high", 10.0)],
        Tolerance::default(),
        &a,
    )
    .with_given_moves(Vec::new(), score(93.0));
    assert!(
        r.terminal().contains("(the hypothesis)\n"),
        "{}",
        r.terminal()
    );
    assert!(!r.terminal().contains("given"));
    assert!(r.markdown().contains("\nInitial: loss"), "{}", r.markdown());
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["given_moves"], serde_json::json!([]));
    assert!(j["file_score"].is_null());
}

//! The search against a scorer whose circuit is known: out ← a (needs `fa`) ← b (needs
//! `fb`) ← emb; `c`..`h` and the direct `emb` are unimportant.

use super::*;
use crate::scrub::hypothesis::HypothesisFile;

fn inputs(term: &str) -> Option<Vec<String>> {
    let v = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect());
    match term {
        "out" => v(&["emb", "a", "b", "c", "d", "e", "f", "g", "h"]),
        "a" => v(&["emb", "b"]),
        "b" | "c" => v(&["emb"]),
        _ => None,
    }
}

/// Whether `datum` determines what the node needs: its parent's datum does everything,
/// `fine` refines every feature, otherwise only the named one.
fn suffices(datum: &DraftDatum, needed: &str) -> bool {
    match datum {
        DraftDatum::Parent => true,
        DraftDatum::Feature(f) => f == needed || f == "fine" || needed == "any",
    }
}

/// 100% minus 40 points per needed input missing and 30 per needed node on too coarse a
/// feature, along out → a → b → emb.
fn fake(draft: &DraftNode) -> f64 {
    let chain = [("a", "fa"), ("b", "fb"), ("emb", "any")];
    let mut pct = 100.0;
    let mut node = draft;
    for (term, needed) in chain {
        let Some(child) = node.children().iter().find(|c| c.term == term) else {
            return pct - 40.0;
        };
        if !suffices(&child.datum, needed) {
            pct -= 30.0;
        }
        if child.inputs.is_none() {
            return pct;
        }
        node = child;
    }
    pct
}

fn score_of(pct: f64) -> TreeScore {
    TreeScore {
        loss: (100.0 - pct) / 100.0,
        stderr: 0.01,
        pct_recovered: pct,
        pct_stderr: 1.0,
    }
}

fn features() -> Vec<FeatureCandidate> {
    [("coarse", 2), ("fa", 3), ("fb", 4), ("fine", 10)]
        .into_iter()
        .map(|(n, c)| FeatureCandidate {
            name: n.into(),
            classes: c,
        })
        .collect()
}

fn run(budget: usize, importance: &dyn Fn(&str, &str) -> f64) -> (Found, usize) {
    let features = features();
    let spec = SearchSpec {
        threshold: 90.0,
        budget,
        output: "out",
        inputs_of: &inputs,
        importance,
        features: &features,
    };
    let mut calls = 0;
    let found = search::<std::convert::Infallible>(
        &spec,
        &mut |d| {
            calls += 1;
            Ok(score_of(fake(d)))
        },
        &mut |_| {},
    )
    .unwrap();
    (found, calls)
}

/// The tree without its notes (which give ranks and orders).
fn shape(n: &DraftNode) -> String {
    let mut kids: Vec<String> = n.children().iter().map(shape).collect();
    kids.sort();
    format!(
        "{}:{:?}:{}[{}]",
        n.term,
        n.datum,
        n.inputs.is_some(),
        kids.join(",")
    )
}

fn by_term<'a>(n: &'a DraftNode, term: &str) -> &'a DraftNode {
    n.children().iter().find(|c| c.term == term).unwrap()
}

#[test]
fn finds_the_chain_with_the_coarsest_sufficient_features() {
    let (found, calls) = run(1000, &|_, _| 0.0);
    let root = &found.root;
    assert_eq!(root.children().len(), 1, "{root:#?}");
    let a = by_term(root, "a");
    assert_eq!(a.datum, DraftDatum::Feature("fa".into()));
    let b = by_term(a, "b");
    assert_eq!(a.children().len(), 1);
    assert_eq!(b.datum, DraftDatum::Feature("fb".into()));
    let emb = by_term(b, "emb");
    assert_eq!(emb.datum, DraftDatum::Feature("coarse".into()));
    assert!(emb.inputs.is_none());
    assert_eq!(found.score.pct_recovered, 100.0);
    assert!(!found.exhausted);
    assert_eq!(calls, found.trials.len() + 1);
    let components: Vec<String> = root.terms_below().into_iter().collect();
    assert_eq!(components, ["a", "b", "emb"]);
}

#[test]
fn attribution_order_saves_scrubs_and_changes_nothing_found() {
    // Ranking the needed inputs last lets the unimportant ones go in growing blocks; one
    // ranked amid them splits the blocks.
    let good = |r: &str, t: &str| match (r, t) {
        ("out", "a") | ("a", "b") | ("b", "emb") => 1.0,
        _ => 0.0,
    };
    let bad = |r: &str, t: &str| match (r, t) {
        ("out", "a") => 0.5,
        ("out", "b" | "f" | "g" | "h") => 1.0,
        _ => 0.0,
    };
    let (with, n_good) = run(1000, &good);
    let (without, n_bad) = run(1000, &bad);
    assert_eq!(shape(&with.root), shape(&without.root));
    assert!(
        n_good < n_bad,
        "{n_good} scrubs with a good order, {n_bad} with a bad one"
    );
}

#[test]
fn a_spent_budget_stops_with_a_tree_that_keeps_the_threshold() {
    for budget in 1..12 {
        let (found, calls) = run(budget, &|_, _| 0.0);
        assert!(calls <= budget, "budget {budget}: {calls} scrubs");
        assert!(found.score.pct_recovered >= 90.0 || budget == 1);
        assert!(
            fake(&found.root) >= 90.0,
            "budget {budget}: {:#?}",
            found.root
        );
        if found.exhausted {
            let mut notes = BTreeMap::new();
            found.root.notes_by_path("out", &mut notes);
            assert!(
                notes.values().any(|n| n.contains("budget")),
                "budget {budget}: {notes:#?}"
            );
        }
    }
    assert!(run(3, &|_, _| 0.0).0.exhausted);
}

#[test]
fn the_file_parses_back_and_carries_a_comment_per_node() {
    let (found, _) = run(1000, &|_, _| 0.0);
    let file = to_file("task", &found.root, 300, 7, "found".into());
    let mut notes = BTreeMap::new();
    found.root.notes_by_path("out", &mut notes);
    let text = file.to_ron_with_notes(&|p| match p {
        "" => Some("header line".into()),
        p => notes.get(p).cloned(),
    });
    assert!(text.starts_with("// header line\n"), "{text}");
    for path in ["out", "out/a", "out/a/b", "out/a/b/emb"] {
        let note = notes
            .get(path)
            .unwrap_or_else(|| panic!("no note for {path}"));
        let first = note.lines().next().unwrap();
        assert!(text.contains(&format!("// {first}")), "{path}: {text}");
    }
    let back = HypothesisFile::parse(&text, std::path::Path::new("found.ron")).unwrap();
    assert_eq!(back, file);
    assert_eq!(back.samples, 300);
    assert_eq!(back.root.inputs.len(), 1);
}

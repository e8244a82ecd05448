//! The search against a scorer whose circuit is known: out ← a (needs `fa`) ← b (needs
//! `fb`) ← emb; `c`..`h` and the direct `emb` are unimportant.

use super::*;
use crate::scrub::hypothesis::{Child, HypothesisFile};

fn inputs(term: &str) -> Option<Vec<Input>> {
    let v = |l: &[&str]| Some(l.iter().map(|s| Input::all(*s)).collect());
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
    run_screened(budget, importance, None, None).0
}

/// The search with a cheap first scrub on `screen` of 100 samples; also the number of
/// scrubs on all 100.
fn run_screened(
    budget: usize,
    importance: &dyn Fn(&str, &str) -> f64,
    screen: Option<usize>,
    depth: Option<usize>,
) -> ((Found, usize), usize) {
    let features = features();
    let spec = SearchSpec {
        threshold: 90.0,
        samples: 100,
        screen,
        budget,
        depth,
        output: "out",
        inputs_of: &inputs,
        importance,
        features: &features,
        constant: &|t| t == "h",
    };
    let (mut calls, mut full) = (0, 0);
    let found = search::<std::convert::Infallible>(
        &spec,
        &mut |d, n| {
            calls += 1;
            full += (n == 100) as usize;
            // The standard error of a mean over n samples.
            let mut s = score_of(fake(d));
            s.pct_stderr *= (100.0 / n as f64).sqrt();
            Ok(s)
        },
        &mut |_| {},
    )
    .unwrap();
    ((found, calls), full)
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
fn a_depth_of_one_reads_the_outputs_inputs_plainly() {
    let ((found, calls), _) = run_screened(1000, &|_, _| 0.0, None, Some(1));
    let root = &found.root;
    assert_eq!(root.children().len(), 1, "{root:#?}");
    let a = by_term(root, "a");
    // Read plainly, `a` on its needed feature is the whole story for the scorer.
    assert!(a.inputs.is_none());
    assert_eq!(a.datum, DraftDatum::Feature("fa".into()));
    assert!(
        a.notes.iter().any(|n| n.contains("--depth")),
        "{:?}",
        a.notes
    );
    assert_eq!(found.score.pct_recovered, 100.0);
    let (deep, deep_calls) = run(1000, &|_, _| 0.0);
    assert!(calls < deep_calls, "{calls} vs {deep_calls}");
    assert!(deep.root.terms_below().len() > root.terms_below().len());
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

#[test]
fn a_cheap_first_scrub_rejects_only_what_is_clearly_below_and_finds_the_same() {
    let ((plain, _), full_plain) = run_screened(1000, &|_, _| 0.0, None, None);
    let ((screened, calls), full) = run_screened(1000, &|_, _| 0.0, Some(25), None);
    assert_eq!(shape(&plain.root), shape(&screened.root));
    assert!(
        full < full_plain,
        "{full} full scrubs screened, {full_plain} without"
    );
    assert_eq!(calls, screened.scrubs);
    for t in &screened.trials {
        // Kept changes are decided on every sample; a cheap rejection is beyond 3 s.e.
        match t.samples {
            100 => {}
            25 => assert!(
                !t.accepted && t.pct_recovered + 3.0 * t.pct_stderr < 90.0,
                "{t:?}"
            ),
            n => panic!("{n} samples"),
        }
    }
    assert!(screened.trials.iter().any(|t| t.samples == 25));
}

#[test]
fn a_recomputation_that_claims_nothing_is_read_plainly() {
    let features = features();
    let spec = SearchSpec {
        threshold: 90.0,
        samples: 100,
        screen: None,
        budget: 10,
        depth: None,
        output: "out",
        inputs_of: &inputs,
        importance: &|_, _| 0.0,
        features: &features,
        constant: &|t| t == "b",
    };
    // a recomputed from emb on its own datum, b (constant) left out: the same as reading a.
    let mut a = DraftNode::recomputed("a", &[Input::all("emb")]);
    assert_eq!(search::collapse(&mut a, &spec), (true, true));
    assert!(a.inputs.is_none());
    // With emb on a feature, the recomputation says something: kept.
    let mut a = DraftNode::recomputed("a", &[Input::all("emb")]);
    a.inputs.as_mut().unwrap()[0].datum = DraftDatum::Feature("fa".into());
    assert_eq!(search::collapse(&mut a, &spec), (false, false));
    assert!(a.inputs.is_some());
    // Leaving out inputs that vary (out keeps only a) is a claim too.
    let mut out = DraftNode::recomputed("out", &[Input::all("a")]);
    assert_eq!(search::collapse(&mut out, &spec), (false, false));
}

#[test]
fn ports_that_sum_different_terms_get_their_own_children() {
    let p = |n: &str, t: &[&str]| (n.to_string(), t.iter().map(|s| s.to_string()).collect());
    // q and k read the same stream: one child per term, into every port.
    let same = inputs_by_port(&[p("q", &["emb", "0.0"]), p("k", &["emb", "0.0"])]);
    assert_eq!(same, vec![Input::all("emb"), Input::all("0.0")]);
    // A head over its pattern node: the pattern into `pattern`, the stream into `v`.
    let split = inputs_by_port(&[p("pattern", &["1.0.pattern"]), p("v", &["emb", "0.0"])]);
    let node = DraftNode::recomputed("1.0", &split);
    let names: Vec<&str> = node.children().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["1.0.pattern", "emb", "0.0"]);
    // A term in two ports that differ is named by port, so paths stay distinct.
    let both = inputs_by_port(&[p("q", &["emb"]), p("v", &["emb", "pos"])]);
    let node = DraftNode::recomputed("h", &both);
    let names: Vec<&str> = node.children().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["emb.q", "emb.v", "pos"]);
    let file = to_file(
        "s",
        &DraftNode::recomputed("out", &[Input::all("h")]),
        10,
        0,
        String::new(),
    );
    assert!(file.root.ports.is_empty());
    let mut root = DraftNode::recomputed("out", &[Input::all("h")]);
    root.inputs.as_mut().unwrap()[0] = node;
    let file = to_file("s", &root, 10, 0, String::new());
    let Child::Node(h) = &file.root.inputs[0] else {
        panic!()
    };
    let ports: Vec<&str> = h.ports.0.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(ports, ["q", "v"]);
    assert!(h.inputs.is_empty());
}

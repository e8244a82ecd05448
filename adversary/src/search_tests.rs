use std::collections::HashMap;

use scrub_core::scrub::run::SampleOutcome;
use scrub_core::scrub::tree::{DatumRule, Tree};
use scrub_core::DatumId;

use super::*;
use crate::moves::tests::split_tree;

#[derive(Debug, thiserror::Error)]
#[error("synthetic scorer failed")]
struct Never;

/// Per-sample noise shared by every tree (as paired sampling shares draws), plus a penalty
/// for each tied follower: loss goes up by `penalty[path]` when that node is tied.
fn scorer<'a>(
    penalty: HashMap<&'static str, f64>,
    calls: &'a mut usize,
) -> impl FnMut(&Tree, usize) -> Result<Vec<SampleOutcome>, Never> + 'a {
    move |t: &Tree, n: usize| {
        *calls += 1;
        let extra: f64 = t
            .nodes
            .iter()
            .filter(|x| matches!(x.datum, DatumRule::SameAs(_)))
            .map(|x| penalty.get(x.path.0.as_str()).copied().unwrap_or(0.0))
            .sum();
        Ok((0..n)
            .map(|s| {
                // Large noise, identical across trees: paired differences cancel it.
                let noise = ((s as f64 * 2.399).sin() + 1.0) * 5.0;
                SampleOutcome {
                    reference: DatumId(s as u32),
                    loss: 1.0 + noise + extra * (1.0 + 0.1 * (s % 3) as f64),
                    correct: true,
                }
            })
            .collect())
    }
}

fn config(budget: usize) -> SearchConfig {
    SearchConfig {
        library: Vec::new(),
        budget,
        samples: 300,
        baselines: (0.0, 10.0),
        tolerance: Tolerance::default(),
        prune: None,
    }
}

#[test]
fn greedy_applies_the_most_harmful_move_first() {
    let mut calls = 0;
    // Tying y to x hurts by 1 loss = 10 points; tying r[2] to r[1] by 0.5 = 5 points.
    let mut s = scorer(
        HashMap::from([("out/y[1]", 0.5), ("out/y[2]", 0.5), ("out/r[2]", 0.5)]),
        &mut calls,
    );
    let a = attack(&split_tree(), &config(5), &mut s, &mut |_| {}).unwrap();
    assert!(!a.survives);
    assert_eq!(a.moves_available, 6);
    let first = &a.rounds[0];
    // Row groups tied (y and r of both positions: 1.0 + 0.5) is the most harmful.
    assert_eq!(
        first.mv.kind,
        crate::MoveKind::TieRowGroups {
            parent_family: "out".into()
        }
    );
    assert!(
        (first.delta + 1.5 * 1.1 * 10.0).abs() < 0.5,
        "{}",
        first.delta
    );
    assert!((a.initial.pct_recovered - first.pct_recovered + first.delta).abs() < 1e-9);
    assert_eq!(first.evaluated.len(), 6);
    assert!(first.evaluated.windows(2).all(|w| w[0].delta <= w[1].delta));
    // Every node but the x[i] is tied now, and those agree on different features.
    assert_eq!(a.rounds.len(), 1);
    assert!(a.stopped.contains("no permitted move"), "{}", a.stopped);
    assert_eq!(
        a.final_score.pct_recovered,
        a.rounds.last().unwrap().pct_recovered
    );
}

#[test]
fn the_budget_limits_rounds() {
    let mut calls = 0;
    let mut s = scorer(
        HashMap::from([("out/y[1]", 0.5), ("out/r[2]", 0.5), ("out/in~rest", 2.0)]),
        &mut calls,
    );
    let a = attack(&split_tree(), &config(1), &mut s, &mut |_| {}).unwrap();
    assert_eq!(a.rounds.len(), 1);
    assert!(a.stopped.contains("budget"));
    drop(s);
    // One base score plus one per move.
    assert_eq!(calls, 1 + 6);
}

#[test]
fn a_hypothesis_no_move_hurts_survives() {
    let mut calls = 0;
    // A 0.2-loss change is 2 points: inside the 3-point tolerance.
    let mut s = scorer(HashMap::from([("out/y[1]", 0.2)]), &mut calls);
    let a = attack(&split_tree(), &config(3), &mut s, &mut |_| {}).unwrap();
    assert!(a.survives, "{:?}", a.last_scan);
    assert!(a.rounds.is_empty());
    assert_eq!(a.last_scan.len(), 6);
    // With a 1-point tolerance the same move counts.
    let mut c = config(3);
    c.tolerance = Tolerance {
        points: 1.0,
        stderrs: 3.0,
    };
    let a = attack(&split_tree(), &c, &mut s, &mut |_| {}).unwrap();
    assert!(!a.survives);
    assert_eq!(a.rounds.len(), 1);
}

#[test]
fn pruning_rescores_the_top_moves_and_those_beyond_tolerance() {
    let penalty = HashMap::from([("out/y[1]", 0.5), ("out/y[2]", 0.5), ("out/r[2]", 0.5)]);
    let run = |tolerance: f64| {
        let mut calls = 0;
        let mut s = scorer(penalty.clone(), &mut calls);
        let mut c = config(1);
        c.prune = Some(Prune {
            divisor: 4,
            keep: 2,
        });
        c.tolerance.points = tolerance;
        let mut events = Vec::new();
        let a = attack(&split_tree(), &c, &mut s, &mut |e| events.push(e)).unwrap();
        drop(s);
        let full = a.rounds.first().map_or(&a.last_scan, |r| &r.evaluated);
        let n_full = full.iter().filter(|e| e.samples == 300).count();
        let n_cheap = full.iter().filter(|e| e.samples == 75).count();
        (calls, n_full, n_cheap, events)
    };
    // Five moves cost at least 5 points (beyond a 3-point tolerance): all re-scored; the
    // harmless tie of `~rest` keeps its cheap score.
    let (calls, n_full, n_cheap, events) = run(3.0);
    assert_eq!((calls, n_full, n_cheap), (1 + 6 + 5, 5, 1));
    assert!(matches!(
        events.last(),
        Some(SearchEvent::Scored {
            done: 11,
            total: 11,
            ..
        })
    ));
    // With a tolerance nothing exceeds, only the top two are re-scored.
    let (calls, n_full, n_cheap, _) = run(100.0);
    assert_eq!((calls, n_full, n_cheap), (1 + 6 + 2, 2, 4));
}

/// Tying `out/in~rest` lowers the loss (raises % recovered) by 5 points on every sample but
/// every other one of the first 75: about +2.5 points on a cheap pass of 300 / 4 samples
/// (inside the 3-point tolerance), +4.4 on all 300 (beyond it).
fn late_gain_scorer(
    calls: &mut usize,
) -> impl FnMut(&Tree, usize) -> Result<Vec<SampleOutcome>, Never> + '_ {
    move |t: &Tree, n: usize| {
        *calls += 1;
        let tied = t
            .nodes
            .iter()
            .any(|x| x.path.0 == "out/in~rest" && matches!(x.datum, DatumRule::SameAs(_)));
        Ok((0..n)
            .map(|s| {
                let gain = if tied && (s >= 75 || s % 2 == 1) {
                    0.5
                } else {
                    0.0
                };
                SampleOutcome {
                    reference: DatumId(s as u32),
                    loss: 5.0 + (s as f64 * 2.399).sin() - gain,
                    correct: true,
                }
            })
            .collect())
    }
}

#[test]
fn a_move_beyond_tolerance_only_on_all_samples_decides_whatever_the_pruning() {
    let play = |prune: Option<Prune>| {
        let mut calls = 0;
        let mut s = late_gain_scorer(&mut calls);
        let mut c = config(1);
        c.prune = prune;
        attack(&split_tree(), &c, &mut s, &mut |_| {}).unwrap()
    };
    let full = play(None);
    let pruned = play(Some(Prune {
        divisor: 4,
        keep: 2,
    }));
    for a in [&full, &pruned] {
        assert!(!a.survives, "{:?}", a.last_scan);
        let d = a.deciding_move.as_ref().expect("a deciding move");
        assert_eq!(d.samples, 300);
        assert!(d.delta > 4.0 && d.significant, "{d:?}");
        assert!(
            d.mv.ties.iter().any(|t| t.follower == "out/in~rest"),
            "{d:?}"
        );
        // It raises % recovered, so nothing is applied.
        assert!(a.rounds.is_empty());
    }
    assert_eq!(full.deciding_move, pruned.deciding_move);
    // On the cheap pass alone the move stayed inside the tolerance: it was re-scored because
    // its interval reached beyond it.
    let mut calls = 0;
    let mut s = late_gain_scorer(&mut calls);
    let cheap = s(&split_tree(), 75).unwrap();
    let tied = pruned
        .deciding_move
        .unwrap()
        .mv
        .apply(&split_tree())
        .unwrap();
    let (d, se) = paired_delta::<Never>(&cheap, &s(&tied, 75).unwrap(), (0.0, 10.0)).unwrap();
    assert!(
        d.abs() < 3.0 && d.abs() + CHEAP_REACH_STDERRS * se > 3.0,
        "{d} ± {se}"
    );
}

#[test]
fn the_deciding_move_is_the_first_applied_one_and_none_when_surviving() {
    let mut calls = 0;
    let mut s = scorer(
        HashMap::from([("out/y[1]", 0.5), ("out/y[2]", 0.5), ("out/r[2]", 0.5)]),
        &mut calls,
    );
    let a = attack(&split_tree(), &config(2), &mut s, &mut |_| {}).unwrap();
    let d = a.deciding_move.as_ref().unwrap();
    assert_eq!(d.mv, a.rounds[0].mv);
    assert_eq!(d.delta, a.rounds[0].delta);
    let mut calls = 0;
    let mut s = scorer(HashMap::from([("out/y[1]", 0.2)]), &mut calls);
    let a = attack(&split_tree(), &config(2), &mut s, &mut |_| {}).unwrap();
    assert!(a.survives && a.deciding_move.is_none());
}

#[test]
fn the_most_harmful_move_beyond_tolerance_is_applied_even_behind_a_noisier_one() {
    // Tying `y[1]` costs 200 loss on 6 of 300 samples: −40 ± 16 points, inside its
    // tolerance of 3 standard errors (so is any move tying it). Tying `r[2]` costs a steady
    // 4 points: beyond the tolerance, so it is applied, though less harmful on average.
    let mut s = |t: &Tree, n: usize| -> Result<Vec<SampleOutcome>, Never> {
        let tied = |p: &str| {
            t.nodes
                .iter()
                .any(|x| x.path.0 == p && matches!(x.datum, DatumRule::SameAs(_)))
        };
        Ok((0..n)
            .map(|s| {
                let rare = if tied("out/y[1]") && s % 50 == 7 {
                    200.0
                } else {
                    0.0
                };
                let steady = if tied("out/r[2]") { 0.4 } else { 0.0 };
                SampleOutcome {
                    reference: DatumId(s as u32),
                    loss: 5.0 + (s as f64 * 2.399).sin() + rare + steady,
                    correct: true,
                }
            })
            .collect())
    };
    let a = attack(&split_tree(), &config(1), &mut s, &mut |_| {}).unwrap();
    let applied = a.rounds.first().expect("a move is applied");
    let followers: Vec<&str> = applied
        .mv
        .ties
        .iter()
        .map(|t| t.follower.as_str())
        .collect();
    assert!(
        followers.contains(&"out/r[2]") && !followers.contains(&"out/y[1]"),
        "{:?}",
        applied.mv
    );
    assert!((applied.delta + 4.0).abs() < 1e-9, "{}", applied.delta);
    let noisy = applied.evaluated.iter().find(|e| e.delta < -30.0).unwrap();
    assert!(!noisy.significant, "{noisy:?}");
    assert_eq!(a.deciding_move.unwrap().mv, applied.mv);
}

#[test]
fn paired_standard_error_is_that_of_the_per_sample_differences() {
    let o = |s: u32, loss: f64| SampleOutcome {
        reference: DatumId(s),
        loss,
        correct: true,
    };
    let base = [o(0, 1.0), o(1, 5.0), o(2, 3.0), o(3, 7.0)];
    // Differences 1, 2, 3, 2: mean 2, sample sd sqrt(2/3), se sqrt(2/3)/2.
    let moved = [o(0, 2.0), o(1, 7.0), o(2, 6.0), o(3, 9.0)];
    let (d, se) = paired_delta::<Never>(&base, &moved, (0.0, 20.0)).unwrap();
    assert!((d - (-2.0 * 5.0)).abs() < 1e-12, "{d}");
    assert!(
        (se - (2.0f64 / 3.0).sqrt() / 2.0 * 5.0).abs() < 1e-12,
        "{se}"
    );
    let shuffled = [o(1, 2.0), o(0, 7.0), o(2, 6.0), o(3, 9.0)];
    assert!(matches!(
        paired_delta::<Never>(&base, &shuffled, (0.0, 20.0)),
        Err(SearchError::Unpaired { sample: 0 })
    ));
}

#[test]
fn bad_settings_are_refused() {
    let mut calls = 0;
    let mut s = scorer(HashMap::new(), &mut calls);
    let e = attack(&split_tree(), &config(0), &mut s, &mut |_| {}).unwrap_err();
    assert_eq!(e.to_string(), "the budget must be at least 1 round");
    let mut c = config(1);
    c.baselines = (1.0, 1.0);
    let e = attack(&split_tree(), &c, &mut s, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("baselines"), "{e}");
    let mut c = config(1);
    c.tolerance.points = -1.0;
    assert!(attack(&split_tree(), &c, &mut s, &mut |_| {}).is_err());
}

#[test]
fn the_report_has_the_keys_the_cli_promises() {
    let mut calls = 0;
    let mut s = scorer(HashMap::from([("out/y[1]", 0.5)]), &mut calls);
    let a = attack(&split_tree(), &config(2), &mut s, &mut |_| {}).unwrap();
    let r = crate::AttackReport::new(
        "toy",
        300,
        0,
        [("low", 0.0), ("high", 10.0)],
        Tolerance::default(),
        &a,
    );
    let j = serde_json::to_value(&r).unwrap();
    for k in [
        "initial",
        "rounds",
        "final",
        "survives",
        "moves_available",
        "tolerance",
        "deciding_move",
        "given_moves",
        "file_score",
    ] {
        assert!(j.get(k).is_some(), "missing {k}: {j}");
    }
    let round = &j["rounds"][0];
    for k in [
        "move",
        "pct_recovered",
        "delta",
        "delta_stderr",
        "evaluated",
    ] {
        assert!(round.get(k).is_some(), "round lacks {k}: {round}");
    }
    assert_eq!(j["survives"], false);
    assert_eq!(j["deciding_move"]["move"], round["move"]);
    assert!(r.markdown().contains("| 1 | sample"), "{}", r.markdown());
    assert!(r.terminal().contains("does not survive"));
}

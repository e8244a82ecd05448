//! The adversary on the real paren model: the sampling-together moves it finds in 3c, the
//! report `scrub attack` prints and writes (with refinements from the paren feature
//! library), and bad input. The washout itself is `scrub counterexample paren-washout`
//! (tests/counterexample_cli.rs).

mod common;

use common::*;
use scrub_adversary::moves::{enumerate_ties, permitted, MoveKind};
use scrub_core::experiment::with_rewrites;
use scrub_core::experiment::Scenario;
use scrub_core::scrub::hypothesis::HypothesisFile;
use scrub_core::scrub::run::sample;
use scrub_core::scrub::tree::{DatumRule, Tree};
use scrub_core::scrub::validate::validate;
use scrub_scenarios::paren::experiment::build_tree;
use scrub_scenarios::paren::scrub::ParenScrub;
use scrub_scenarios::DataDir;
use std::sync::atomic::{AtomicUsize, Ordering};

fn hypothesis(name: &str) -> String {
    format!("{}/paren/hypotheses/{name}.ron", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn tying_the_row_groups_of_3c_puts_every_x2_term_on_one_datum() {
    let s = ParenScrub::load(&DataDir::resolve(Some(&data_dir())).unwrap(), None, 0).unwrap();
    let base = s.graph().unwrap();
    let file = HypothesisFile::load(hypothesis("3c").as_ref()).unwrap();
    with_rewrites(&base, &base, &file.rewrites, &s.library(), &mut |g| {
        let tree = build_tree(&s, g, &base, &file)?;
        let moves = enumerate_ties(&tree);
        assert!(moves.len() >= 10, "{} moves", moves.len());
        for m in &moves {
            // Every move is something 3c permits, and the tree it gives is still valid.
            let after = m.apply(&tree).unwrap();
            validate(&after, g).unwrap_or_else(|e| panic!("{}: {e}", m.description));
            for t in &m.ties {
                let (f, l) = (
                    tree.find(&t.follower).unwrap(),
                    tree.find(&t.leader).unwrap(),
                );
                permitted(&tree, f, l).unwrap();
                let same_feature = match (&tree.nodes[f.0].datum, &tree.nodes[l.0].datum) {
                    (DatumRule::Agrees(a), DatumRule::Agrees(b)) => {
                        a == b && tree.nodes[f.0].parent == tree.nodes[l.0].parent
                    }
                    _ => false,
                };
                let unimportant = matches!(
                    tree.nodes[f.0].datum,
                    DatumRule::Unimportant | DatumRule::UnimportantGroup(_)
                );
                assert!(same_feature || unimportant, "{}: {t:?}", m.description);
            }
        }
        let tie_all = moves
            .iter()
            .find(|m| {
                m.kind
                    == MoveKind::TieRowGroups {
                        parent_family: "out/2.1".into(),
                    }
            })
            .expect("the move that turns 3c into 3a");
        let tied: Tree = tie_all.apply(&tree).unwrap();
        let cols = s.columns(&tied.features())?;
        let score = s.score();
        let a = sample(&tied, &s.spec(&cols, &score, 64, 3)).unwrap();
        let slot = |p: String| Tree::slot(tied.find(&p).unwrap_or_else(|| panic!("{p}")));
        for i in 1..=41 {
            let terms = ["a0", "mlp0", "mlp1", "rest"].map(|f| slot(format!("out/2.1/{f}[{i}]")));
            for smp in 0..64 {
                let d = terms.map(|t| a.get(smp, t));
                assert!(d.iter().all(|&x| x == d[0]), "x2[{i}], sample {smp}: {d:?}");
            }
        }
        // Untied, 3c draws the terms apart (the washout).
        let a = sample(&tree, &s.spec(&cols, &score, 64, 3)).unwrap();
        let slot = |p: &str| Tree::slot(tree.find(p).unwrap());
        let apart = (0..64)
            .filter(|&smp| a.get(smp, slot("out/2.1/a0[5]")) != a.get(smp, slot("out/2.1/mlp0[5]")))
            .count();
        assert!(
            apart > 32,
            "{apart} of 64 samples draw a0[5] and mlp0[5] apart"
        );
        Ok::<_, scrub_scenarios::ScenarioError>(())
    })
    .unwrap();
}

fn data_args<'a>(dir: &'a str, samples: &'a str) -> Vec<&'a str> {
    vec![
        "--data-dir",
        dir,
        "--balanced-fraction",
        "0.26",
        "--samples",
        samples,
        "--seed",
        "0",
        "--executor",
        "cpu",
        "--quiet",
        "--json",
    ]
}

#[test]
fn the_attack_report_has_every_promised_key_and_plays_refinements_too() {
    let dir = data_dir();
    let dir = dir.to_str().unwrap();
    let out = temp_dir("attack");
    let file = hypothesis("3c");
    let out_s = out.to_str().unwrap().to_string();
    let mut args = vec![
        "attack",
        file.as_str(),
        "--budget",
        "1",
        "--prune-keep",
        "2",
        // No move comes near a 100-point tolerance, so only the two most harmful are
        // re-scored on all samples: this test is about the report's keys and moves, and
        // every move that could break the default tolerance costs a full re-score of 3c.
        "--tolerance",
        "100",
    ];
    args.extend(data_args(dir, "300"));
    args.extend(["--out", out_s.as_str()]);
    let j = json(&scrub(&args));
    for key in [
        "initial",
        "rounds",
        "final",
        "survives",
        "moves_available",
        "stopped",
    ] {
        assert!(j.get(key).is_some(), "missing `{key}`: {j}");
    }
    let scanned: Vec<&serde_json::Value> = match j["rounds"].as_array().unwrap().first() {
        Some(r) => {
            for key in ["move", "pct_recovered", "delta", "delta_stderr"] {
                assert!(r.get(key).is_some(), "round lacks `{key}`: {r}");
            }
            r["evaluated"].as_array().unwrap().iter().collect()
        }
        None => j["last_scan"].as_array().unwrap().iter().collect(),
    };
    // Every move is in the report, refinements from the feature library among them.
    assert_eq!(scanned.len() as u64, j["moves_available"].as_u64().unwrap());
    let kinds: Vec<&str> = scanned
        .iter()
        .map(|e| e["move"]["kind"].as_str().unwrap())
        .collect();
    for kind in ["tie_row_groups", "make_important", "refine_feature"] {
        assert!(kinds.contains(&kind), "no `{kind}` move among {kinds:?}");
    }
    let refine = scanned
        .iter()
        .find(|e| e["move"]["kind"] == "make_important")
        .unwrap();
    assert!(!refine["move"]["refinements"].as_array().unwrap().is_empty());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("attack-3c.json")).unwrap())
            .unwrap();
    assert_eq!(saved["initial"], j["initial"]);
    let md = std::fs::read_to_string(out.join("attack-3c.md")).unwrap();
    assert!(md.contains("3c"), "{md}");

    // With --ties-only the library is left out.
    let mut args = vec!["attack", file.as_str(), "--budget", "1", "--ties-only"];
    args.extend(data_args(dir, "100"));
    args.extend(["--out", out_s.as_str()]);
    let t = json(&scrub(&args));
    assert!(t["moves_available"].as_u64().unwrap() < j["moves_available"].as_u64().unwrap());
}

#[test]
fn bad_attack_input_gets_clear_errors() {
    let dir = data_dir();
    let dir = dir.to_str().unwrap();
    let file = hypothesis("3c");
    let out = scrub(&["attack", &file, "--budget", "0", "--data-dir", dir]);
    assert_clean_failure(&out, &["--budget must be at least 1"]);
    let out = scrub(&["attack", "no/such/hypothesis.ron", "--data-dir", dir]);
    assert_clean_failure(&out, &["no/such/hypothesis.ron"]);
    let out = scrub(&["attack", &file, "--tolerance=-1", "--data-dir", dir]);
    assert_clean_failure(&out, &["--tolerance"]);
    // A move file naming a node the hypothesis lacks, and one that is not moves at all.
    let tmp = temp_dir("attack-moves");
    let moves = tmp.join("moves.json");
    std::fs::write(
        &moves,
        r#"[{"description": "mine", "kind": "tie_family", "family": "out/2.1/rest[]",
            "ties": [{"follower": "out/2.1/rest[2]", "leader": "out/2.1/nope[1]"}]}]"#,
    )
    .unwrap();
    let m = moves.to_str().unwrap();
    let small = ["--samples", "50", "--executor", "cpu", "--data-dir", dir];
    let mut args = vec!["attack", file.as_str(), "--moves", m];
    args.extend(small);
    assert_clean_failure(&scrub(&args), &["mine", "`out/2.1/nope[1]`"]);
    std::fs::write(&moves, r#"[{"description": 1}]"#).unwrap();
    assert_clean_failure(
        &scrub(&args),
        &["moves.json:1:", "not a JSON array of moves"],
    );
    // One sample gives no standard error.
    let out = scrub(&["attack", &file, "--samples", "1", "--data-dir", dir]);
    assert_clean_failure(&out, &["--samples", "at least 2 samples are needed"]);
}

/// `scrub attack FILE --budget 1` on the CPU with seed 0 and `extra` options, as JSON.
fn attack_json(file: &str, samples: &str, extra: &[&str]) -> serde_json::Value {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = data_dir();
    let out = temp_dir(&format!(
        "attack-run{}",
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let mut args = vec![
        "attack",
        file,
        "--budget",
        "1",
        "--samples",
        samples,
        "--seed",
        "0",
        "--executor",
        "cpu",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--json",
    ];
    args.extend(extra);
    json(&scrub(&args))
}

/// The moves a report scanned in its first round.
fn first_scan(j: &serde_json::Value) -> &Vec<serde_json::Value> {
    match j["rounds"].as_array().unwrap().first() {
        Some(r) => r["evaluated"].as_array().unwrap(),
        None => j["last_scan"].as_array().unwrap(),
    }
}

/// Asserts that attacking `name` on `samples` samples with the default pruning and with
/// `--prune-keep 0` gives the same verdict and the same deciding move, and that every move
/// the pruned attack left on the cheap pass stays inside the tolerance on all samples.
/// Returns the pruned attack's report.
fn assert_pruning_does_not_decide(name: &str, samples: &str) -> serde_json::Value {
    let file = hypothesis(name);
    let pruned = attack_json(&file, samples, &[]);
    let full = attack_json(&file, samples, &["--prune-keep", "0"]);
    let at = format!("{name} at {samples} samples");
    assert_eq!(pruned["survives"], full["survives"], "{at}");
    let (p, f) = (&pruned["deciding_move"], &full["deciding_move"]);
    assert_eq!(p.is_null(), pruned["survives"] == true, "{at}: {p}");
    assert_eq!(p["move"], f["move"], "{at}");
    let n: u64 = samples.parse().unwrap();
    if !p.is_null() {
        assert_eq!(p["samples"], n, "{at}: the deciding move is fully scored");
        let (dp, df) = (p["delta"].as_f64().unwrap(), f["delta"].as_f64().unwrap());
        assert!((dp - df).abs() < 1e-9, "{at}: {dp} against {df}");
    }
    for e in first_scan(&pruned).iter().filter(|e| e["samples"] != n) {
        let g = first_scan(&full)
            .iter()
            .find(|g| g["move"] == e["move"])
            .unwrap();
        assert_eq!(g["significant"], false, "{at}: {g}");
    }
    pruned
}

// 1b at 200 samples is the filed case: it survived with pruning (a refinement of `out/1.0`
// raising % recovered by 3.35 ± 1.09 was only scored on the cheap pass) and not without;
// 1a and 2a flipped the same way. These eight attacks take 123 s on an idle 2-core machine
// (190 s of CPU); 1a and 2a at 1000 samples take 37 s and 4 min more (2a has 371 moves) and
// run in their own tests below, beside the others (2a only when slow tests are asked for).
#[test]
fn the_verdict_and_the_deciding_move_do_not_depend_on_pruning() {
    for (name, samples) in [("1a", "200"), ("1b", "200"), ("2a", "200"), ("1b", "1000")] {
        let pruned = assert_pruning_does_not_decide(name, samples);
        if (name, samples) == ("1b", "200") {
            assert_eq!(pruned["survives"], false, "{pruned}");
        }
    }
}

#[test]
fn the_verdict_and_the_deciding_move_of_1a_at_1000_samples_do_not_depend_on_pruning() {
    let pruned = assert_pruning_does_not_decide("1a", "1000");
    assert_eq!(pruned["survives"], false, "{pruned}");
}

/// 2a at 1000 samples scores 371 moves unpruned (4 minutes of CI's 45): run by
/// `SCRUB_SLOW=1 scripts/test-all.sh` (or `cargo test -- --ignored`), not by CI.
#[test]
#[ignore = "4 minutes; SCRUB_SLOW=1 scripts/test-all.sh runs it"]
fn the_verdict_and_the_deciding_move_of_2a_at_1000_samples_do_not_depend_on_pruning() {
    let pruned = assert_pruning_does_not_decide("2a", "1000");
    assert_eq!(pruned["survives"], false, "{pruned}");
}

#[test]
fn an_attack_from_given_moves_lists_them_beside_the_files_own_score() {
    let file = hypothesis("1b");
    let plain = attack_json(&file, "200", &[]);
    assert!(plain["given_moves"].as_array().unwrap().is_empty());
    assert!(plain["file_score"].is_null());
    let mv = first_scan(&plain)
        .iter()
        .find(|e| e["samples"] == 200 && e["delta"].as_f64().unwrap() < -1.0)
        .expect("a fully scored move that lowers % recovered");
    let tmp = temp_dir("attack-given");
    let moves = tmp.join("moves.json");
    std::fs::write(&moves, serde_json::json!([mv["move"]]).to_string()).unwrap();
    let m = moves.to_str().unwrap();
    let given = attack_json(&file, "200", &["--moves", m]);
    assert_eq!(given["given_moves"], serde_json::json!([mv["move"]]));
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9
    };
    // The file's own score is the plain attack's start; the start is the move's score.
    assert!(close(
        &given["file_score"]["pct_recovered"],
        &plain["initial"]["pct_recovered"]
    ));
    assert!(close(
        &given["initial"]["pct_recovered"],
        &mv["pct_recovered"]
    ));

    // The terminal table and the markdown say so too.
    let dir = data_dir();
    let out = tmp.join("out");
    let o = scrub(&[
        "attack",
        &file,
        "--budget",
        "1",
        "--samples",
        "200",
        "--seed",
        "0",
        "--executor",
        "cpu",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--moves",
        m,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let term = String::from_utf8_lossy(&o.stdout);
    let desc = mv["move"]["description"].as_str().unwrap();
    let own = format!(
        "{:.1} ± {:.1}",
        plain["initial"]["pct_recovered"].as_f64().unwrap(),
        plain["initial"]["pct_stderr"].as_f64().unwrap()
    );
    for needle in [
        desc,
        own.as_str(),
        "own score",
        "(the hypothesis after the given moves)",
    ] {
        assert!(term.contains(needle), "terminal lacks {needle:?}: {term}");
    }
    let md = std::fs::read_to_string(out.join("attack-1b.md")).unwrap();
    for needle in [
        format!("- {desc}"),
        "Initial, after the given moves:".to_string(),
        "own score".to_string(),
    ] {
        assert!(md.contains(&needle), "markdown lacks {needle:?}: {md}");
    }
}

use super::*;

#[test]
fn heuristic_without_earlier_occurrences_is_the_bigram_loss() {
    let lp = 0.2f64.ln();
    assert!((heuristic_loss(lp, 0, 0, 2.0) + lp).abs() < 1e-12);
    assert!(
        heuristic_loss(lp, 2, 0, 2.0) < -lp,
        "matches make B likelier"
    );
    assert!(
        heuristic_loss(lp, 0, 2, 2.0) > -lp,
        "mismatches make B less likely"
    );
}

#[test]
fn bigram_rows_are_distributions() {
    let d: &[u16] = &[0, 1, 2, 1, 2, 3];
    let lp = bigram_log_probs(&[d], 4, 0.1);
    for a in 0..4 {
        let s: f64 = lp[a * 4..(a + 1) * 4].iter().map(|l| l.exp()).sum();
        assert!((s - 1.0).abs() < 1e-9);
    }
    assert!(lp[4 + 2] > lp[4 + 3], "1 is followed by 2");
}

/// Token 2 is followed by a document-specific token repeated through the document (induction
/// helps); token 3 is always followed by 4 (bigrams already know).
fn corpus() -> Vec<Vec<u16>> {
    (0..40u16)
        .map(|k| {
            let b = 5 + k % 30;
            (0..20).flat_map(|_| [2, b, 3, 4]).collect()
        })
        .collect()
}

#[test]
fn selects_tokens_where_induction_beats_bigrams() {
    let docs = corpus();
    let refs: Vec<&[u16]> = docs.iter().map(Vec::as_slice).collect();
    let stats = pair_stats(&refs, 40, 0.1, 255, &[1.0, 3.0]);
    assert_eq!(stats.len(), 2);
    let s = &stats[1];
    assert!(s.bigram_loss[2] - s.induction_loss[2] > 1.0);
    assert!((s.bigram_loss[3] - s.induction_loss[3]).abs() < 0.1);
    assert!(s.mean_induction_loss < s.mean_bigram_loss);
    let params = SubsetParams {
        beta: 3.0,
        threshold: 0.5,
        min_count: 10,
        smoothing: 0.1,
        window: 255,
    };
    let picked = select(s, &params, &[0, 1], |i| format!("t{i}"));
    assert_eq!(picked.iter().map(|t| t.id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(picked[0].text, "t2");
    assert!(select(s, &params, &[2], |i| i.to_string()).is_empty());
}

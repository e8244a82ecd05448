use super::*;
use crate::paren::features::tests::real;
use scrub_core::FeatureValue;

#[test]
fn p_adj_mixes_prefix_and_suffix_by_b() {
    // n = 1..=3; b_{2,3} = 0.25, the rest 0.
    let w = PrefixWeights {
        max_len: 3,
        b: vec![0.0, 0.0, 0.0, 0.0, 0.25, 0.0],
    };
    assert_eq!(w.get(2, 3), Some(0.25));
    assert_eq!(w.get(3, 3), Some(0.0));
    assert_eq!(w.get(0, 3), None);
    assert_eq!(w.get(3, 2), None);
    assert_eq!(w.get(1, 4), None);
    let s = [false, true, true]; // ")((": prefix ")" = 0, suffix "((" = 1
    assert_eq!(w.p_adj(&s, 2), Some(0.25 * 0.0 + 0.75 * 1.0));
    assert_eq!(w.p_adj(&s, 1), Some(2.0 / 3.0), "b_1 = 0 gives p_1");
    assert_eq!(w.p_adj(&s, 4), None);
    assert_eq!(w.excess(2, 3, 0, 2), Some(0.25 * -0.5 + 0.75 * 0.5));
}

#[test]
fn excess_is_exactly_zero_when_both_halves_are_half_open() {
    let mut w = PrefixWeights::upper_triangular(40);
    w.b.iter_mut()
        .enumerate()
        .for_each(|(k, b)| *b = (k as f64 * 0.37).sin().abs() * 0.9);
    for n in (4..=40).step_by(2) {
        for q in (3..=n).step_by(2) {
            let (pl, sl) = (q - 1, n - q + 1);
            assert_eq!(w.excess(q, n, pl / 2, sl / 2), Some(0.0), "q {q} n {n}");
        }
    }
}

#[test]
fn upper_triangular_p_adj_is_p() {
    let w = PrefixWeights::upper_triangular(5);
    let s = [true, false, false, true, true];
    for q in 1..=5 {
        let opens = s[q - 1..].iter().filter(|&&o| o).count();
        assert_eq!(w.p_adj(&s, q), Some(opens as f64 / (6 - q) as f64));
    }
}

#[test]
fn real_b_has_the_write_ups_two_facts() {
    let b = real().features.prefix_weights();
    assert_eq!(b.max_len(), 40);
    let (mut lo, mut hi, mut tightest) = (f64::INFINITY, f64::NEG_INFINITY, (f64::INFINITY, 0, 0));
    for n in 1..=40 {
        assert_eq!(b.get(1, n), Some(0.0), "b_(1,{n})");
        for q in 2..=n {
            let v = b.get(q, n).unwrap();
            let bound = (q - 1) as f64 / n as f64;
            assert!(
                v < bound,
                "b_({q},{n}) = {v} is not below (q-1)/n = {bound}"
            );
            lo = lo.min(v);
            hi = hi.max(v);
            if bound - v < tightest.0 {
                tightest = (bound - v, q, n);
            }
        }
    }
    eprintln!(
        "b_(q>=2,n) in [{lo:.4}, {hi:.4}]; smallest margin below (q-1)/n: {:.5} at q={}, n={}",
        tightest.0, tightest.1, tightest.2
    );
    eprintln!(
        "b_(2,2)={:.4} b_(20,40)={:.4} b_(40,40)={:.4} b_(2,40)={:.4}",
        b.get(2, 2).unwrap(),
        b.get(20, 40).unwrap(),
        b.get(40, 40).unwrap(),
        b.get(2, 40).unwrap()
    );
}

#[test]
fn real_adjusted_horizon_agrees_with_horizon_wherever_the_count_test_passes() {
    let f = &real().features;
    let count = f.column("count").unwrap();
    let passes = |d: usize| count.values[d] == FeatureValue::from(true);
    let n_pass = (0..f.len()).filter(|&d| passes(d)).count();
    let mut differ_elsewhere = 0;
    for i in f.positions() {
        let plain = f.column(&format!("horizon_at({i})")).unwrap();
        let adj = f.column(&format!("horizon_adj_at({i})")).unwrap();
        for d in 0..f.len() {
            let (a, b) = (plain.values[d], adj.values[d]);
            if passes(d) {
                assert_eq!(
                    a,
                    b,
                    "datum {d} position {i}: horizon_at {} vs horizon_adj_at {}",
                    plain.describe(a),
                    adj.describe(b)
                );
            } else if a != b {
                differ_elsewhere += 1;
            }
        }
    }
    let (h, ha) = (
        f.column("horizon").unwrap(),
        f.column("horizon_adj").unwrap(),
    );
    let seq_differ = (0..f.len())
        .filter(|&d| h.values[d] != ha.values[d])
        .count();
    assert!((0..f.len())
        .filter(|&d| passes(d))
        .all(|d| h.values[d] == ha.values[d]));
    eprintln!("{n_pass} sequences pass the count test; among the rest, {differ_elsewhere} (datum, position) classes and {seq_differ} sequence-level horizon values differ");
    // The adjustment must change something, or the agreement above says nothing.
    assert!(
        differ_elsewhere > 0,
        "p_adj never moved a position across 1/2"
    );
}

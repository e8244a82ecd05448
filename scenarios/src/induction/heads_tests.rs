use super::*;

fn tiny() -> Model {
    let cfg = crate::induction::test_support::config(20, 32);
    scrub_core::testing::random_model(&cfg, 3, 0.2)
}

#[test]
fn repeated_sequences_repeat_and_avoid_special_tokens() {
    let seqs = repeated_sequences(3, 5, 20, 2, 0, 9);
    for s in &seqs {
        assert_eq!(s.len(), 11);
        assert_eq!(s[0], TokenId(0));
        assert_eq!(&s[1..6], &s[6..11]);
        assert!(s[1..].iter().all(|t| t.0 >= 2 && t.0 < 20));
    }
    assert_eq!(seqs, repeated_sequences(3, 5, 20, 2, 0, 9));
}

#[test]
fn token_loss_is_negative_log_softmax() {
    let l = token_loss(&[0.0, 0.0], 1);
    assert!((l - std::f64::consts::LN_2).abs() < 1e-9);
    assert!(token_loss(&[10.0, -10.0], 0) < 1e-6);
}

#[test]
fn scores_of_a_random_model_are_attention_means() {
    let m = tiny();
    let text: Vec<Vec<TokenId>> = vec![(0..12).map(|i| TokenId(i % 7)).collect()];
    let probe = HeadProbe {
        sequences: 5,
        half_len: 10,
        text_sequences: 1,
        seed: 1,
    };
    let s = identify(&m, &text, &probe).unwrap();
    assert_eq!(s.prefix_matching.len(), 2);
    assert_eq!(s.previous_token[0].len(), 2);
    for v in s.prefix_matching.iter().chain(&s.previous_token).flatten() {
        assert!((0.0..=1.0).contains(v), "{v}");
    }
    assert!(s.repeated_first_half_loss > 0.0 && s.repeated_second_half_loss > 0.0);
    assert_eq!(s.text_sequences, 1);
    let too_long = HeadProbe {
        half_len: 16,
        ..probe
    };
    assert!(identify(&m, &text, &too_long).is_err());
}

#[test]
fn rules_pick_strong_layer1_heads_and_the_best_previous_token_head() {
    let probe = HeadProbe::default();
    let s = pick(
        vec![vec![0.9, 0.1], vec![0.45, 0.7]],
        vec![vec![0.3, 0.8], vec![0.9, 0.0]],
        vec![vec![0.6, 0.9], vec![0.9, 0.9]],
        5.0,
        1.0,
        &probe,
    );
    // Layer 0's 0.9 is not an induction head; layer 1's heads are sorted best first.
    assert_eq!(
        s.induction_heads,
        vec![Head { layer: 1, head: 1 }, Head { layer: 1, head: 0 }]
    );
    assert_eq!(s.previous_token_head, Some(Head { layer: 0, head: 1 }));
    assert_eq!(
        s.self_attending_heads,
        vec![Head { layer: 0, head: 0 }],
        "layer 0 only, and never the previous-token head"
    );
    let weak = pick(
        vec![vec![0.0], vec![0.3]],
        vec![vec![0.5], vec![0.0]],
        vec![vec![0.4], vec![0.0]],
        1.0,
        1.0,
        &probe,
    );
    assert!(weak.induction_heads.is_empty());
    assert_eq!(weak.previous_token_head, None);
    assert!(weak.self_attending_heads.is_empty());
}

//! Sneaking in knowledge (the write-up's hash game): the input is a number n and a mode,
//! EASY or HARD equally often; the answer is the last bit of a hash of n. Rewards (correct /
//! wrong / "I don't know"): EASY +2 / −1 / 0, HARD +10 / −20 / 0. A model that cannot hash
//! guesses in EASY (expected +0.5) and abstains in HARD.
//!
//! The hypothesis "on EASY the output is the model's guess, on HARD the correct answer"
//! resamples a HARD input among inputs with the same answer: half are EASY inputs whose
//! guess happens to be right, so the scrubbed model answers HARD questions correctly half
//! the time and scores far above the model. Joining it with the mode feature (resampling
//! within the same mode) brings it back.

use rand::{Rng, SeedableRng};

use scrub_core::scrub::scalar::ScalarGraph;
use scrub_core::scrub::tree::DatumRule;
use scrub_core::{FeatureColumn, FeatureValue};

use super::scalar_case::{output_on, ScalarCase};

const N_DATA: usize = 20_000;
/// The output meaning "I don't know".
const ABSTAIN: f32 = 2.0;

/// The last bit of a (splitmix64) hash of `n`.
pub fn hash_bit(n: u64) -> u8 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) & 1) as u8
}

/// The model's guess in EASY mode: a bit of n that knows nothing about the hash.
fn guess(n: u64) -> u8 {
    (n & 1) as u8
}

/// Reward of `output` for an input in mode `hard` whose answer is `answer`.
pub fn reward(output: f32, hard: bool, answer: u8) -> f64 {
    let o = output.round();
    if o == ABSTAIN {
        return 0.0;
    }
    match (hard, o == answer as f32) {
        (false, true) => 2.0,
        (false, false) => -1.0,
        (true, true) => 10.0,
        (true, false) => -20.0,
    }
}

/// The counterexample on data drawn with `seed`.
pub fn case(seed: u64) -> ScalarCase {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5EED_4A54);
    let numbers: Vec<u64> = (0..N_DATA)
        .map(|_| rng.random_range(0..1u64 << 24))
        .collect();
    let hard: Vec<bool> = (0..N_DATA).map(|_| rng.random()).collect();
    let mut g = ScalarGraph::default();
    // n < 2^24 is exact in f32.
    let n_in = g.input("n", numbers.iter().map(|&n| n as f32).collect());
    let mode = g.input("mode", hard.iter().map(|&h| h as u8 as f32).collect());
    g.function("output", &[&[n_in], &[mode]], |p| {
        if p[1] > 0.5 {
            ABSTAIN
        } else {
            guess(p[0] as u64) as f32
        }
    });
    let bits: Vec<u8> = numbers.iter().map(|&n| hash_bit(n)).collect();
    let guesses: Vec<u8> = numbers.iter().map(|&n| guess(n)).collect();
    let col = |name: &str, v: Vec<i64>| {
        FeatureColumn::new(name, v.into_iter().map(FeatureValue).collect())
    };
    let columns = vec![
        // What the hypothesis says the output is: the guess on EASY, the answer on HARD.
        col(
            "claimed_output",
            (0..N_DATA)
                .map(|i| if hard[i] { bits[i] } else { guesses[i] } as i64)
                .collect(),
        ),
        col("mode", hard.iter().map(|&h| h as i64).collect()),
        col("hash_bit", bits.iter().map(|&b| b as i64).collect()),
        col("guess", guesses.iter().map(|&b| b as i64).collect()),
        // What the model really outputs: the truth about it.
        col(
            "model_output",
            (0..N_DATA)
                .map(|i| if hard[i] { 2 } else { guesses[i] as i64 })
                .collect(),
        ),
    ];
    let flawed = output_on(&g, DatumRule::Agrees("claimed_output".into()));
    let truth = output_on(&g, DatumRule::Agrees("model_output".into()));
    ScalarCase {
        name: "sneaking-knowledge",
        claim: "the output is the model's guess on EASY inputs and the correct answer on HARD ones"
            .into(),
        graph: g,
        truth_graph: None,
        columns,
        library: vec!["mode".into(), "hash_bit".into(), "guess".into()],
        n_data: N_DATA,
        score: Box::new(move |r, out| {
            let i = r.index();
            let rw = reward(out[0], hard[i], bits[i]);
            (-rw, rw > 0.0)
        }),
        flawed,
        truth: Some(truth),
        // Measured: the baselines' gap (≈ 1.4 reward) beat 3 paired standard errors for 13 of
        // 20 seeds at 400 samples, 18 at 600, all 20 at 800 and at 1000.
        min_samples: 800,
        min_samples_reason: "its rewards, +10 and −20 on HARD inputs, spread so widely that with fewer samples the model and the fully scrubbed tree are often within 3 standard errors of each other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guess_knows_nothing_about_the_hash() {
        let agree = (0..100_000u64).filter(|&n| hash_bit(n) == guess(n)).count();
        assert!((agree as f64 / 100_000.0 - 0.5).abs() < 0.01, "{agree}");
    }

    #[test]
    fn rewards_follow_the_write_ups_table() {
        assert_eq!(reward(1.0, false, 1), 2.0);
        assert_eq!(reward(0.0, false, 1), -1.0);
        assert_eq!(reward(1.0, true, 1), 10.0);
        assert_eq!(reward(0.0, true, 1), -20.0);
        assert_eq!(reward(ABSTAIN, true, 1), 0.0);
        assert_eq!(reward(ABSTAIN, false, 0), 0.0);
    }
}

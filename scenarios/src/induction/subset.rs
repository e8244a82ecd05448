//! The write-up's "inductiony" tokens (its appendix, "How we picked the subset of tokens"):
//! tokens A after which hard induction predicts the next token much better than bigrams.
//!
//! For every adjacent pair A B of the corpus:
//! - bigram loss: -log P(B | A) from the corpus's bigram matrix (additively smoothed so
//!   unseen pairs have finite loss);
//! - induction-heuristic loss for beta: among earlier occurrences of A in the same
//!   document and within the model's context, `matching_count` are followed by B and
//!   `non_matching_count` are not; the B logit is `log P(B|A) + matching_count·beta`, the
//!   non-B logit `log(1 - P(B|A)) + non_matching_count·beta`, and the loss is
//!   -log softmax of the B logit.
//!
//! A token A is in the subset when its mean (bigram loss - heuristic loss) over its
//! occurrences exceeds `threshold` (and it occurs at least `min_count` times, so the mean
//! means something).

use serde::{Deserialize, Serialize};

/// Settings of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SubsetParams {
    pub beta: f64,
    pub threshold: f64,
    pub min_count: usize,
    /// Additive smoothing of bigram counts.
    pub smoothing: f64,
    /// How far back earlier occurrences count (the model's context).
    pub window: usize,
}

/// One selected token with its statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetToken {
    pub id: u32,
    pub text: String,
    /// Occurrences of the token as the first of a pair.
    pub count: usize,
    pub bigram_loss: f64,
    pub induction_loss: f64,
}

/// Per-token mean losses of both predictors over a corpus.
#[derive(Debug, Clone)]
pub struct PairStats {
    pub count: Vec<usize>,
    pub bigram_loss: Vec<f64>,
    pub induction_loss: Vec<f64>,
    /// Mean losses over all pairs.
    pub mean_bigram_loss: f64,
    pub mean_induction_loss: f64,
}

/// A pair that has earlier occurrences of its first token: the only pairs where the
/// heuristic differs from bigrams.
struct Repeat {
    a: u16,
    log_p: f64,
    matching: u32,
    non_matching: u32,
}

/// Bigram log-probabilities `[a * vocab + b]` of `docs`, smoothed.
pub fn bigram_log_probs(docs: &[&[u16]], vocab: usize, smoothing: f64) -> Vec<f64> {
    let mut counts = vec![0u32; vocab * vocab];
    for d in docs {
        for w in d.windows(2) {
            counts[w[0] as usize * vocab + w[1] as usize] += 1;
        }
    }
    let mut out = vec![0.0; vocab * vocab];
    for a in 0..vocab {
        let row = &counts[a * vocab..(a + 1) * vocab];
        let total = row.iter().map(|&c| c as f64).sum::<f64>() + smoothing * vocab as f64;
        for b in 0..vocab {
            out[a * vocab + b] = ((row[b] as f64 + smoothing) / total).ln();
        }
    }
    out
}

/// Loss of the induction heuristic for one pair.
pub fn heuristic_loss(log_p: f64, matching: u32, non_matching: u32, beta: f64) -> f64 {
    let other = (-log_p.exp()).ln_1p();
    let yes = log_p + matching as f64 * beta;
    let no = other + non_matching as f64 * beta;
    let m = yes.max(no);
    m + ((yes - m).exp() + (no - m).exp()).ln() - yes
}

/// Counts of earlier occurrences for every pair of `docs` (done once, reused for every beta).
struct Corpus {
    vocab: usize,
    count: Vec<usize>,
    bigram_sum: Vec<f64>,
    repeats: Vec<Repeat>,
    n_pairs: usize,
}

fn scan(docs: &[&[u16]], vocab: usize, smoothing: f64, window: usize) -> Corpus {
    let lp = bigram_log_probs(docs, vocab, smoothing);
    let mut c = Corpus {
        vocab,
        count: vec![0; vocab],
        bigram_sum: vec![0.0; vocab],
        repeats: Vec::new(),
        n_pairs: 0,
    };
    for d in docs {
        for i in 0..d.len().saturating_sub(1) {
            let (a, b) = (d[i], d[i + 1]);
            let log_p = lp[a as usize * vocab + b as usize];
            c.count[a as usize] += 1;
            c.bigram_sum[a as usize] -= log_p;
            c.n_pairs += 1;
            let (mut matching, mut non_matching) = (0u32, 0u32);
            for j in i.saturating_sub(window)..i {
                if d[j] == a {
                    if d[j + 1] == b {
                        matching += 1;
                    } else {
                        non_matching += 1;
                    }
                }
            }
            if matching + non_matching > 0 {
                c.repeats.push(Repeat {
                    a,
                    log_p,
                    matching,
                    non_matching,
                });
            }
        }
    }
    c
}

impl Corpus {
    fn stats(&self, beta: f64) -> PairStats {
        let mut ind = self.bigram_sum.clone();
        for r in &self.repeats {
            // Replace this pair's bigram loss by the heuristic's.
            ind[r.a as usize] +=
                r.log_p + heuristic_loss(r.log_p, r.matching, r.non_matching, beta);
        }
        let n = self.n_pairs.max(1) as f64;
        let mean_bigram_loss = self.bigram_sum.iter().sum::<f64>() / n;
        let mean_induction_loss = ind.iter().sum::<f64>() / n;
        let per = |sum: &[f64]| -> Vec<f64> {
            sum.iter()
                .zip(&self.count)
                .map(|(s, &c)| if c == 0 { 0.0 } else { s / c as f64 })
                .collect()
        };
        PairStats {
            count: self.count.clone(),
            bigram_loss: per(&self.bigram_sum),
            induction_loss: per(&ind),
            mean_bigram_loss,
            mean_induction_loss,
        }
    }
}

/// Per-token statistics for each beta in `betas` (one scan of the corpus).
pub fn pair_stats(
    docs: &[&[u16]],
    vocab: usize,
    smoothing: f64,
    window: usize,
    betas: &[f64],
) -> Vec<PairStats> {
    let c = scan(docs, vocab, smoothing, window);
    debug_assert_eq!(c.vocab, vocab);
    betas.iter().map(|&b| c.stats(b)).collect()
}

/// Tokens whose mean gain (bigram - heuristic loss) exceeds the threshold, best first;
/// `exclude` are never selected (the special tokens).
pub fn select(
    stats: &PairStats,
    params: &SubsetParams,
    exclude: &[u32],
    name: impl Fn(u32) -> String,
) -> Vec<SubsetToken> {
    let mut out: Vec<SubsetToken> = (0..stats.count.len())
        .filter(|&a| {
            stats.count[a] >= params.min_count
                && stats.bigram_loss[a] - stats.induction_loss[a] > params.threshold
                && !exclude.contains(&(a as u32))
        })
        .map(|a| SubsetToken {
            id: a as u32,
            text: name(a as u32),
            count: stats.count[a],
            bigram_loss: stats.bigram_loss[a],
            induction_loss: stats.induction_loss[a],
        })
        .collect();
    out.sort_by(|x, y| {
        (y.bigram_loss - y.induction_loss).total_cmp(&(x.bigram_loss - x.induction_loss))
    });
    out
}

#[cfg(test)]
#[path = "subset_tests.rs"]
mod tests;

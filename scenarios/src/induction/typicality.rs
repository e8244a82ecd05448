//! The write-up's classifier of where the previous-token head attends atypically (refined
//! hypothesis 5), adapted to this project's tokenizer. A position is atypical when
//! - the previous token is a piece of one of the quote characters `’`, `“`, ` “`, `”` (they
//!   are several bytes, and byte-level BPE may split them, as GPT-2's did),
//! - the previous token is ` a` or ` an`,
//! - or the current token is `.` or ` to`;
//!
//! every other position is typical. The hypothesis claims only this bit matters for the
//! head's attention at a position; `typical_at(i)` is the feature that says so.

use std::collections::HashSet;

use scrub_core::{FeatureColumn, FeatureValue};

use super::vocab::Vocab;

/// Quote characters whose byte pieces make the next position atypical.
const QUOTES: [&str; 4] = ["’", "“", " “", "”"];
/// Previous tokens that make a position atypical.
const ATYPICAL_PREVIOUS: [&[u8]; 2] = [b" a", b" an"];
/// Current tokens that make a position atypical.
const ATYPICAL_CURRENT: [&[u8]; 2] = [b".", b" to"];

/// The classifier for one vocabulary: which token ids trigger each rule.
#[derive(Debug, Clone)]
pub struct Typicality {
    /// Tokens after which a position is atypical.
    pub previous: HashSet<u32>,
    /// Tokens at which a position is atypical.
    pub current: HashSet<u32>,
}

impl Typicality {
    /// The token sets of `vocab`. A quote piece is a token whose bytes occur inside one of
    /// the quotes' UTF-8 encodings and include a non-ASCII byte (a lone space is not a
    /// piece of ` “`).
    pub fn new(vocab: &Vocab) -> Self {
        let mut previous = HashSet::new();
        let mut current = HashSet::new();
        for id in 0..vocab.len() as u32 {
            let b = vocab.bytes(id);
            if b.is_empty() {
                continue;
            }
            let quote_piece = b.iter().any(|&x| x >= 0x80)
                && QUOTES
                    .iter()
                    .any(|q| q.as_bytes().windows(b.len()).any(|w| w == b.as_slice()));
            if quote_piece || ATYPICAL_PREVIOUS.contains(&b.as_slice()) {
                previous.insert(id);
            }
            if ATYPICAL_CURRENT.contains(&b.as_slice()) {
                current.insert(id);
            }
        }
        Typicality { previous, current }
    }

    /// Whether position `i` of `seq` is typical (position 0 has no previous token).
    pub fn typical(&self, seq: &[u32], i: usize) -> bool {
        let prev_atypical = i > 0 && self.previous.contains(&seq[i - 1]);
        !(prev_atypical || self.current.contains(&seq[i]))
    }

    /// The feature `typical_at(i)` over `seqs` (1 = typical, 0 = atypical).
    pub fn column(&self, seqs: &[Vec<u32>], i: usize) -> FeatureColumn {
        let values = seqs
            .iter()
            .map(|s| FeatureValue::from(i < s.len() && self.typical(s, i)))
            .collect();
        FeatureColumn::new(format!("typical_at({i})"), values)
            .with_label(FeatureValue(1), "typical")
            .with_label(FeatureValue(0), "atypical")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn vocab() -> Vocab {
        // ids: 0 [BEGIN], 1 "x", 2 "âĢ" (first two bytes of ’ “ ”), 3 "Ļ" (last byte of ’),
        // 4 " a", 5 " an", 6 ".", 7 " to", 8 " " (a lone space), 9 "Ġâ" (space + E2).
        let tokens = [
            "[BEGIN]", "x", "âĢ", "Ļ", "Ġa", "Ġan", ".", "Ġto", "Ġ", "Ġâ",
        ];
        Vocab {
            path: PathBuf::new(),
            tokens: tokens.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn rules_pick_quote_pieces_articles_and_current_tokens() {
        let t = Typicality::new(&vocab());
        let mut prev: Vec<u32> = t.previous.iter().copied().collect();
        prev.sort();
        assert_eq!(
            prev,
            vec![2, 3, 4, 5, 9],
            "quote pieces (not a lone space) and a/an"
        );
        let mut cur: Vec<u32> = t.current.iter().copied().collect();
        cur.sort();
        assert_eq!(cur, vec![6, 7]);
        let seq = [0, 1, 4, 1, 6, 1, 3, 1];
        let typical: Vec<bool> = (0..seq.len()).map(|i| t.typical(&seq, i)).collect();
        assert_eq!(
            typical,
            vec![true, true, true, false, false, true, true, false],
            "after ` a`, at `.`, after a quote byte"
        );
        let col = t.column(&[seq.to_vec()], 3);
        assert_eq!(col.name, "typical_at(3)");
        assert_eq!(col.values, vec![FeatureValue(0)]);
    }
}

//! The scenario's evaluation set: next-token prediction examples from the validation slice
//! whose last context token is an "inductiony" token. An example is (sequence, position):
//! the context is the sequence up to and including `position`, the target the token after.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::tokens_file::TokenFile;

/// One next-token example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Index of the validation sequence.
    pub seq: usize,
    /// Position of the last context token; the target is at `position + 1`.
    pub position: usize,
}

/// Every example of `validation` whose last context token is in `tokens`, in order.
pub fn evaluation_examples(validation: &TokenFile, tokens: &[u32]) -> Vec<Example> {
    let set: HashSet<u32> = tokens.iter().copied().collect();
    let Some(seqs) = validation.sequences() else {
        return Vec::new();
    };
    seqs.enumerate()
        .flat_map(|(s, seq)| {
            let set = &set;
            (0..seq.len() - 1)
                .filter(move |&p| set.contains(&(seq[p] as u32)))
                .map(move |p| Example {
                    seq: s,
                    position: p,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::induction::TokenFileMeta;

    #[test]
    fn examples_end_on_listed_tokens_and_have_a_target() {
        let f = TokenFile {
            meta: TokenFileMeta {
                format: "u16le".into(),
                n_tokens: 8,
                seq_len: Some(4),
                begin_token: 0,
                end_token: 1,
                vocab_size: 10,
                description: String::new(),
            },
            tokens: vec![0, 5, 6, 5, 0, 7, 5, 9],
        };
        let ex = evaluation_examples(&f, &[5]);
        assert_eq!(
            ex,
            vec![
                Example {
                    seq: 0,
                    position: 1
                },
                Example {
                    seq: 1,
                    position: 2
                }
            ],
            "the final 5 of sequence 0 has no next token"
        );
    }
}

//! The labelled paren sequences (`brackets_data.json`: a JSON list of `[string, bool]`)
//! and their tokenisation: `[start] ( ) ... [end]`, without padding. With [pad] keys
//! masked, trailing pads change no other position, so the ragged form is exact.

use std::path::{Path, PathBuf};

use scrub_core::{SeqTarget, TokenBatch, TokenId};

use super::token;
use super::BALANCED_CLASS;
use crate::error::ScenarioError;

/// One labelled sequence of parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParenExample {
    pub text: String,
    pub balanced: bool,
}

impl ParenExample {
    /// `[start]`, one token per paren, `[end]`.
    pub fn tokens(&self) -> Vec<TokenId> {
        let mut t = Vec::with_capacity(self.text.len() + 2);
        t.push(token::START);
        t.extend(
            self.text
                .bytes()
                .map(|b| if b == b'(' { token::OPEN } else { token::CLOSE }),
        );
        t.push(token::END);
        t
    }

    /// The output class the model should predict.
    pub fn label(&self) -> u32 {
        if self.balanced {
            BALANCED_CLASS
        } else {
            1 - BALANCED_CLASS
        }
    }
}

/// All labelled sequences of one data file.
#[derive(Debug, Clone)]
pub struct ParenDataset {
    pub path: PathBuf,
    pub examples: Vec<ParenExample>,
}

impl ParenDataset {
    /// Reads and checks a data file: valid JSON of `[string, bool]` pairs, only `(` and `)`,
    /// at most `n_ctx - 2` parens per sequence.
    pub fn load(path: &Path, n_ctx: usize) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, n_ctx)
    }

    /// Parses data-file text; `path` names the source in errors.
    pub fn parse(text: &str, path: &Path, n_ctx: usize) -> Result<Self, ScenarioError> {
        let raw: Vec<(String, bool)> =
            serde_json::from_str(text).map_err(|e| ScenarioError::MalformedData {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: format!("{e}; expected a JSON list of [\"(()...\", true|false] pairs"),
            })?;
        if raw.is_empty() {
            return Err(ScenarioError::EmptyDataset {
                path: path.to_path_buf(),
            });
        }
        let max_parens = n_ctx.saturating_sub(2);
        let mut examples = Vec::with_capacity(raw.len());
        for (index, (text, balanced)) in raw.into_iter().enumerate() {
            let bad = |message: String| ScenarioError::BadSequence {
                path: path.to_path_buf(),
                index,
                text: text.clone(),
                message,
            };
            if let Some((i, c)) = text
                .chars()
                .enumerate()
                .find(|(_, c)| *c != '(' && *c != ')')
            {
                return Err(bad(format!(
                    "character {c:?} at index {i} is not a parenthesis"
                )));
            }
            if text.len() > max_parens {
                return Err(bad(format!("{} parens; the model's context holds at most {max_parens} (n_ctx {n_ctx} minus [start] and [end])", text.len())));
            }
            examples.push(ParenExample { text, balanced });
        }
        Ok(ParenDataset {
            path: path.to_path_buf(),
            examples,
        })
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// True when there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Keeps only the first `n` sequences.
    pub fn truncate(&mut self, n: usize) {
        self.examples.truncate(n);
    }

    /// Fraction of balanced sequences.
    pub fn balanced_fraction(&self) -> f64 {
        self.examples.iter().filter(|e| e.balanced).count() as f64 / self.len().max(1) as f64
    }

    /// Token batch of sequences `range`.
    pub fn batch(&self, range: std::ops::Range<usize>) -> TokenBatch {
        let toks: Vec<Vec<TokenId>> = self.examples[range]
            .iter()
            .map(ParenExample::tokens)
            .collect();
        TokenBatch::from_sequences(toks.iter().map(Vec::as_slice))
    }

    /// Classification targets (position 0) of sequences `range`, numbered within that range.
    pub fn targets(&self, range: std::ops::Range<usize>) -> Vec<SeqTarget> {
        self.examples[range]
            .iter()
            .enumerate()
            .map(|(seq, e)| SeqTarget {
                seq,
                position: 0,
                label: e.label(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ParenDataset, ScenarioError> {
        ParenDataset::parse(text, Path::new("d.json"), 42)
    }

    #[test]
    fn tokenises_with_start_and_end() {
        let d = parse(r#"[["(()", false], ["()", true]]"#).unwrap();
        let t: Vec<u32> = d.examples[0].tokens().iter().map(|t| t.0).collect();
        assert_eq!(t, vec![0, 3, 3, 4, 2]);
        assert_eq!(
            d.targets(0..2)[1],
            SeqTarget {
                seq: 1,
                position: 0,
                label: 1
            }
        );
        assert_eq!(d.batch(0..2).offsets(), &[0, 5, 9]);
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = parse("[[\"()\", true],\n [\"()\" true]]")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("d.json:2:"), "{err}");
    }

    #[test]
    fn wrong_element_type_is_rejected() {
        let err = parse(r#"[["()", "yes"]]"#).unwrap_err().to_string();
        assert!(
            err.contains("d.json:1:") && err.contains("expected a JSON list"),
            "{err}"
        );
    }

    #[test]
    fn non_paren_character_names_sequence_and_index() {
        let err = parse(r#"[["()", true], ["(x)", false]]"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sequence 1") && err.contains("'x'") && err.contains("index 1"),
            "{err}"
        );
    }

    #[test]
    fn too_long_sequence_is_rejected() {
        let long = "()".repeat(21);
        let err = parse(&format!(r#"[["{long}", true]]"#))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("42 parens") && err.contains("at most 40"),
            "{err}"
        );
    }

    #[test]
    fn empty_dataset_is_rejected() {
        assert!(matches!(
            parse("[]"),
            Err(ScenarioError::EmptyDataset { .. })
        ));
    }
}

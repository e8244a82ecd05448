//! The tokenizer's vocabulary, read straight from the Hugging Face `tokenizers` JSON (the
//! `model.vocab` map and `added_tokens`) so `scrub` can name tokens and check the tokenizer
//! against the model without compiling the tokenizers crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scrub_core::ModelConfig;
use serde::Deserialize;

use super::error::InductionError;

/// Token strings by id.
#[derive(Debug, Clone)]
pub struct Vocab {
    pub path: PathBuf,
    /// `tokens[id]` is the token's string as the tokenizer stores it (byte-level BPE writes
    /// a space as `Ġ` and a newline as `Ċ`).
    pub tokens: Vec<String>,
}

#[derive(Deserialize)]
struct TokenizerJson {
    model: ModelJson,
    #[serde(default)]
    added_tokens: Vec<Added>,
}

#[derive(Deserialize)]
struct ModelJson {
    vocab: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
struct Added {
    id: u32,
    content: String,
}

impl Vocab {
    /// Reads a tokenizer JSON; ids must be exactly 0..n with no gaps.
    pub fn load(path: &Path) -> Result<Vocab, InductionError> {
        let text = std::fs::read_to_string(path).map_err(InductionError::io(path))?;
        let bad = |message: String| InductionError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let json: TokenizerJson = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not a tokenizers JSON file: {e}")))?;
        let mut by_id: BTreeMap<u32, String> = BTreeMap::new();
        for (s, id) in json.model.vocab {
            by_id.insert(id, s);
        }
        for a in json.added_tokens {
            by_id.insert(a.id, a.content);
        }
        let tokens: Vec<String> = by_id.values().cloned().collect();
        if let Some((i, (id, _))) = by_id
            .iter()
            .enumerate()
            .find(|(i, (id, _))| **id as usize != *i)
        {
            return Err(bad(format!(
                "token ids have a gap: id {id} at position {i}"
            )));
        }
        Ok(Vocab {
            path: path.to_path_buf(),
            tokens,
        })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Errors unless the model's input and output vocabularies are this tokenizer's.
    pub fn check_model(&self, cfg: &ModelConfig, config_path: &Path) -> Result<(), InductionError> {
        if cfg.d_vocab != self.len() || cfg.d_vocab_out != self.len() {
            return Err(InductionError::VocabMismatch {
                tokenizer: self.path.clone(),
                tokenizer_vocab: self.len(),
                config: config_path.to_path_buf(),
                model_vocab: cfg.d_vocab,
            });
        }
        Ok(())
    }

    /// The token's bytes: byte-level BPE stores byte `b` as one printable character
    /// (GPT-2's table: printable Latin-1 bytes as themselves, the other 68 bytes as
    /// U+0100 onwards, in byte order). `[BEGIN]`/`[END]` and unknown ids give their text.
    pub fn bytes(&self, id: u32) -> Vec<u8> {
        let Some(s) = self.tokens.get(id as usize) else {
            return Vec::new();
        };
        let table = byte_table();
        s.chars()
            .map(|c| table.iter().position(|&t| t == c).map(|b| b as u8))
            .collect::<Option<Vec<u8>>>()
            .unwrap_or_else(|| s.as_bytes().to_vec())
    }

    /// The token as readable text: byte-level markers turned back into spaces and newlines.
    pub fn display(&self, id: u32) -> String {
        self.tokens
            .get(id as usize)
            .map(|s| s.replace('Ġ', " ").replace('Ċ', "\\n").replace('ĉ', "\\t"))
            .unwrap_or_else(|| format!("<{id}?>"))
    }
}

/// `table[b]` is the character byte-level BPE writes for byte `b`.
fn byte_table() -> [char; 256] {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        table[b as usize] = if printable(b) {
            char::from_u32(b).expect("Latin-1")
        } else {
            next += 1;
            char::from_u32(next - 1).expect("below U+0200")
        };
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_tokens_decode_to_their_bytes() {
        let v = Vocab {
            path: PathBuf::new(),
            tokens: vec!["Ġthe".into(), "Ċ".into(), "âĢĻ".into(), "[BEGIN]".into()],
        };
        assert_eq!(v.bytes(0), b" the");
        assert_eq!(v.bytes(1), b"\n");
        assert_eq!(
            v.bytes(2),
            "’".as_bytes(),
            "the right single quote's three bytes"
        );
        assert_eq!(v.bytes(3), b"[BEGIN]");
    }

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("scrub-vocab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_vocab_and_added_tokens_and_checks_the_model() {
        let p = write(
            "ok.json",
            r#"{"added_tokens":[{"id":0,"content":"[BEGIN]"},{"id":1,"content":"[END]"}],
                "model":{"type":"BPE","vocab":{"[BEGIN]":0,"[END]":1,"a":2,"Ġthe":3}}}"#,
        );
        let v = Vocab::load(&p).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v.display(3), " the");
        let cfg = crate::induction::test_support::config(4, 8);
        v.check_model(&cfg, Path::new("config.ron")).unwrap();
        let cfg = crate::induction::test_support::config(5, 8);
        let e = v
            .check_model(&cfg, Path::new("config.ron"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("has 4 tokens") && e.contains("d_vocab = 5"),
            "{e}"
        );
    }

    #[test]
    fn gaps_and_garbage_are_errors() {
        let p = write("gap.json", r#"{"model":{"vocab":{"a":0,"b":2}}}"#);
        assert!(Vocab::load(&p).unwrap_err().to_string().contains("gap"));
        let p = write("junk.json", "[1,2]");
        assert!(Vocab::load(&p)
            .unwrap_err()
            .to_string()
            .contains("not a tokenizers JSON"));
    }
}

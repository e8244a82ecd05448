//! Tokenized text on disk: a flat file of little-endian u16 token ids with a JSON sidecar
//! (`<name>.json` beside `<name>.u16`) that says what the ids mean. u16 because the
//! vocabulary is in the low thousands; the sidecar makes a file self-describing so a
//! tokenizer/model mismatch is caught before any forward pass.
//!
//! The trainer (`scrub-train`) writes these files and compiles this module with `#[path]`
//! rather than depending on `scrub-scenarios`, which would pull wgpu and the adversary into
//! the training build; so this file uses nothing but std, serde and serde_json.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A token file that cannot be read or written, naming the file.
#[derive(Debug)]
pub struct TokenFileError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for TokenFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for TokenFileError {}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TokenFileError + '_ {
    move |e| TokenFileError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What a token file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenFileMeta {
    /// Always `"u16le"`.
    pub format: String,
    /// Number of token ids in the file.
    pub n_tokens: usize,
    /// `Some(n)`: the file is back-to-back sequences of exactly `n` tokens, each starting
    /// with `begin_token`. `None`: one stream of documents separated by `end_token`.
    pub seq_len: Option<usize>,
    /// Id of `[BEGIN]`.
    pub begin_token: u32,
    /// Id of `[END]`, the document separator.
    pub end_token: u32,
    /// Vocabulary size of the tokenizer that made the file.
    pub vocab_size: usize,
    /// Where the text came from and how it was cut.
    pub description: String,
}

/// Ids plus their description.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFile {
    pub meta: TokenFileMeta,
    pub tokens: Vec<u16>,
}

/// The sidecar of `path` (`x.u16` -> `x.json`).
pub fn sidecar(path: &Path) -> PathBuf {
    path.with_extension("json")
}

impl TokenFile {
    /// Reads `path` and its sidecar, checking that they agree.
    pub fn read(path: &Path) -> Result<TokenFile, TokenFileError> {
        let meta_path = sidecar(path);
        let text = std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
        let meta: TokenFileMeta = serde_json::from_str(&text).map_err(|e| TokenFileError {
            path: meta_path.clone(),
            message: e.to_string(),
        })?;
        let bytes = std::fs::read(path).map_err(io(path))?;
        let bad = |message: String| TokenFileError {
            path: path.to_path_buf(),
            message,
        };
        if meta.format != "u16le" {
            return Err(bad(format!(
                "unknown format {:?} (expected \"u16le\")",
                meta.format
            )));
        }
        // Checked: a sidecar claiming 2^63 tokens would otherwise wrap to 0 bytes and pass.
        if meta.n_tokens.checked_mul(2) != Some(bytes.len()) {
            return Err(bad(format!(
                "{} bytes, but the sidecar says {} tokens ({} bytes)",
                bytes.len(),
                meta.n_tokens,
                2 * meta.n_tokens as u128
            )));
        }
        let tokens: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        if let Some(i) = tokens.iter().position(|&t| t as usize >= meta.vocab_size) {
            return Err(bad(format!(
                "token {} at index {i} is outside the vocabulary of {}",
                tokens[i], meta.vocab_size
            )));
        }
        if let Some(n) = meta.seq_len {
            if tokens.len().checked_rem(n) != Some(0) {
                return Err(bad(format!(
                    "{} tokens are not a whole number of sequences of {n}",
                    tokens.len()
                )));
            }
            if let Some(s) = tokens
                .chunks_exact(n)
                .position(|s| s[0] as u32 != meta.begin_token)
            {
                return Err(bad(format!("sequence {s} does not start with [BEGIN]")));
            }
        }
        Ok(TokenFile { meta, tokens })
    }

    /// Writes the ids and the sidecar (each through a temporary name, then renamed).
    pub fn write(&self, path: &Path) -> Result<(), TokenFileError> {
        let bytes: Vec<u8> = self.tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
        write_atomic(path, &bytes)?;
        let mut json = serde_json::to_string_pretty(&self.meta).expect("plain struct");
        json.push('\n');
        write_atomic(&sidecar(path), json.as_bytes())
    }

    /// The sequences of a sequence file (`seq_len` is `Some`).
    pub fn sequences(&self) -> Option<std::slice::ChunksExact<'_, u16>> {
        self.meta.seq_len.map(|n| self.tokens.chunks_exact(n))
    }
}

fn cannot_write(path: &Path) -> impl FnOnce(std::io::Error) -> TokenFileError + '_ {
    move |e| TokenFileError {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TokenFileError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(cannot_write(dir))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    let written = std::fs::write(&tmp, bytes)
        .map_err(cannot_write(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(cannot_write(path)));
    if written.is_err() {
        // No half-written temporary file outlives a failure.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_says_write_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("scrub-tokw-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("taken.u16")).unwrap();
        // The target is a folder: writing the temporary file works, renaming onto it fails.
        let e = write_atomic(&dir.join("taken.u16"), b"ab").unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
        assert!(!dir.join(".taken.u16.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn meta(n_tokens: usize, seq_len: Option<usize>) -> TokenFileMeta {
        TokenFileMeta {
            format: "u16le".into(),
            n_tokens,
            seq_len,
            begin_token: 0,
            end_token: 1,
            vocab_size: 10,
            description: "test".into(),
        }
    }

    #[test]
    fn round_trip_and_sequences() {
        let dir = std::env::temp_dir().join(format!("scrub-tokfile-{}", std::process::id()));
        let path = dir.join("v.u16");
        let f = TokenFile {
            meta: meta(6, Some(3)),
            tokens: vec![0, 5, 9, 0, 2, 3],
        };
        f.write(&path).unwrap();
        let g = TokenFile::read(&path).unwrap();
        assert_eq!(f, g);
        assert_eq!(g.sequences().unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_out_of_vocab_and_bad_lengths() {
        let dir = std::env::temp_dir().join(format!("scrub-tokfile-bad-{}", std::process::id()));
        let path = dir.join("v.u16");
        let mut f = TokenFile {
            meta: meta(3, None),
            tokens: vec![0, 10, 2],
        };
        f.write(&path).unwrap();
        let e = TokenFile::read(&path).unwrap_err().to_string();
        assert!(e.contains("outside the vocabulary"), "{e}");
        f.tokens = vec![0, 1, 2];
        f.meta.seq_len = Some(2);
        f.write(&path).unwrap();
        let e = TokenFile::read(&path).unwrap_err().to_string();
        assert!(e.contains("whole number"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

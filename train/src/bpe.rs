//! The byte-level BPE tokenizer: trained on the corpus's train split with the `tokenizers`
//! crate, with the write-up's `[BEGIN]` (id 0) and a document separator `[END]` (id 1).

use std::path::{Path, PathBuf};

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::TrainError;

/// Prepended to every sequence the model sees.
pub const BEGIN: &str = "[BEGIN]";
/// Separates documents in a token stream.
pub const END: &str = "[END]";

fn tk(e: impl std::fmt::Display) -> TrainError {
    TrainError::Tokenizer(e.to_string())
}

/// Trains a BPE tokenizer of exactly `vocab_size` tokens (special tokens included) on `files`.
pub fn train(files: &[PathBuf], vocab_size: usize) -> Result<Tokenizer, TrainError> {
    let specials = vec![AddedToken::from(BEGIN, true), AddedToken::from(END, true)];
    let trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(specials)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tokenizer = Tokenizer::new(BPE::default());
    // No prefix space: a document's first word is tokenized like the start of a line.
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::default()));
    let mut trainer: tokenizers::models::TrainerWrapper = trainer.into();
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    tokenizer
        .train_from_files(&mut trainer, names)
        .map_err(tk)?;
    let got = tokenizer.get_vocab_size(true);
    if got != vocab_size {
        return Err(TrainError::Tokenizer(format!(
            "asked for {vocab_size} tokens but training produced {got} (the corpus is too small)"
        )));
    }
    Ok(tokenizer)
}

/// Loads a tokenizer saved with [`save`], checking the special tokens' ids.
pub fn load(path: &Path) -> Result<Tokenizer, TrainError> {
    let t = Tokenizer::from_file(path).map_err(|e| tk(format!("{}: {e}", path.display())))?;
    for (name, id) in [(BEGIN, 0), (END, 1)] {
        if t.token_to_id(name) != Some(id) {
            return Err(TrainError::Tokenizer(format!(
                "{}: {name} must be token {id}",
                path.display()
            )));
        }
    }
    Ok(t)
}

/// Writes the tokenizer as JSON.
pub fn save(t: &Tokenizer, path: &Path) -> Result<(), TrainError> {
    t.save(path, true).map_err(tk)
}

/// Token ids of `text` (no special tokens added), as u16.
pub fn encode(t: &Tokenizer, text: &str) -> Result<Vec<u16>, TrainError> {
    let enc = t.encode(text, false).map_err(tk)?;
    enc.get_ids()
        .iter()
        .map(|&i| {
            u16::try_from(i).map_err(|_| TrainError::Tokenizer(format!("token id {i} > u16")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_a_tokenizer_with_begin_and_end_first_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("scrub-bpe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = dir.join("a.txt");
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(50)
            + "Mrs. Dursley, Mr. Dursley, Dudley Dursley.";
        std::fs::write(&doc, &text).unwrap();
        let t = train(&[doc], 300).unwrap();
        assert_eq!(t.get_vocab_size(true), 300);
        let path = dir.join("tokenizer.json");
        save(&t, &path).unwrap();
        let t = load(&path).unwrap();
        let ids = encode(&t, "the lazy Dursley").unwrap();
        let back = t
            .decode(&ids.iter().map(|&i| i as u32).collect::<Vec<_>>(), false)
            .unwrap();
        assert_eq!(back, "the lazy Dursley");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The plain-text corpus made by `scenarios/induction/corpus.sh`: `DIR/train/*.txt` and
//! `DIR/validation/*.txt`, one document per file.

use std::path::{Path, PathBuf};

use crate::error::TrainError;

/// One split of the corpus, documents in path order (so every run sees the same order).
#[derive(Debug, Clone)]
pub struct Split {
    pub name: &'static str,
    pub files: Vec<PathBuf>,
}

/// The corpus's train and validation documents.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub train: Split,
    pub validation: Split,
}

impl Corpus {
    /// Lists the documents of `dir`; a missing directory or a split without documents is an
    /// error that says how to make the corpus.
    pub fn open(dir: &Path) -> Result<Corpus, TrainError> {
        if !dir.is_dir() {
            return Err(TrainError::Corpus(format!(
                "corpus directory {} does not exist; make it with scenarios/induction/corpus.sh {}",
                dir.display(),
                dir.display()
            )));
        }
        Ok(Corpus {
            train: list(dir, "train")?,
            validation: list(dir, "validation")?,
        })
    }
}

fn list(dir: &Path, name: &'static str) -> Result<Split, TrainError> {
    let sub = dir.join(name);
    let empty = || {
        TrainError::Corpus(format!(
            "corpus directory {} has no {name} documents ({}/*.txt); make it with scenarios/induction/corpus.sh",
            dir.display(),
            sub.display()
        ))
    };
    let entries = std::fs::read_dir(&sub).map_err(|_| empty())?;
    let mut files = Vec::new();
    for e in entries {
        let p = e.map_err(|source| TrainError::Io {
            path: sub.clone(),
            source,
        })?;
        let p = p.path();
        if p.extension().is_some_and(|x| x == "txt") && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(empty());
    }
    files.sort();
    Ok(Split { name, files })
}

/// Reads one document.
pub fn read_doc(path: &Path) -> Result<String, TrainError> {
    std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_corpus_directories_are_clear_errors() {
        let base = std::env::temp_dir().join(format!("scrub-corpus-{}", std::process::id()));
        let e = Corpus::open(&base.join("nope")).unwrap_err().to_string();
        assert!(
            e.contains("does not exist") && e.contains("corpus.sh"),
            "{e}"
        );
        std::fs::create_dir_all(base.join("train")).unwrap();
        let e = Corpus::open(&base).unwrap_err().to_string();
        assert!(e.contains("no train documents"), "{e}");
        std::fs::write(base.join("train/a.txt"), "hello").unwrap();
        let e = Corpus::open(&base).unwrap_err().to_string();
        assert!(e.contains("no validation documents"), "{e}");
        std::fs::create_dir_all(base.join("validation")).unwrap();
        std::fs::write(base.join("validation/b.txt"), "bye").unwrap();
        let c = Corpus::open(&base).unwrap();
        assert_eq!(c.train.files.len(), 1);
        std::fs::remove_dir_all(&base).unwrap();
    }
}

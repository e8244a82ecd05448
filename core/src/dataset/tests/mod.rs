//! Tests of the dataset loaders: each format, each error, and round trips between formats.

use std::path::{Path, PathBuf};

/// A directory under the system temp dir, removed when dropped; unique per test so tests
/// can run in parallel.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("scrub-core-dataset-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    pub(super) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

mod column;
mod jsonl;
mod no_panic;
mod npy;
mod roundtrip;
mod safetensors;

/// `n` JSONL lines joined, each ending in a newline.
pub(super) fn lines(ls: &[&str]) -> String {
    ls.iter().map(|l| format!("{l}\n")).collect()
}

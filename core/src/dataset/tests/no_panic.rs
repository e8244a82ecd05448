//! Any bytes give a dataset or an error, never a panic: random JSONL-ish text, and valid
//! npy and safetensors files with bytes overwritten.

use proptest::prelude::*;

use super::TempDir;
use crate::dataset::Dataset;

const JSONL: &str = "{\"tokens\": [1, 2], \"a\": [true, false], \"s\": \"x\", \"n\": 3}\n\
                     {\"tokens\": [4], \"a\": [false], \"s\": \"y\", \"n\": -1}\n";

fn valid_dir(dir: &TempDir) -> Dataset {
    let ds = Dataset::load(&dir.write("d.jsonl", JSONL)).unwrap();
    ds.write_npy_dir(&dir.path().join("npy")).unwrap();
    ds
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn jsonl_text_never_panics(text in "[{}\\[\\]\":, 0-9a-z.\\-\n]{0,80}") {
        let dir = TempDir::new("prop-jsonl");
        let _ = Dataset::load(&dir.write("d.jsonl", format!("{JSONL}{text}")));
        let _ = Dataset::load(&dir.write("e.jsonl", &text));
    }

    #[test]
    fn edited_jsonl_never_panics(at in 0usize..JSONL.len(), c in "[{}\\[\\]\":, 0-9a-z.\\-\n]") {
        let dir = TempDir::new("prop-jsonl-edit");
        let mut text = JSONL.as_bytes().to_vec();
        text[at] = c.as_bytes()[0];
        let _ = Dataset::load(&dir.write("d.jsonl", &text));
    }

    #[test]
    fn edited_npy_never_panics(file in 0usize..6, at in 0usize..200, byte in any::<u8>()) {
        let dir = TempDir::new("prop-npy");
        valid_dir(&dir);
        let names = ["tokens", "lengths", "a", "s", "n", "tokens"];
        let p = dir.path().join("npy").join(format!("{}.npy", names[file]));
        let mut bytes = std::fs::read(&p).unwrap();
        let at = at % bytes.len();
        bytes[at] = byte;
        if file == 5 {
            bytes.truncate(at);
        }
        std::fs::write(&p, bytes).unwrap();
        let _ = Dataset::load(&dir.path().join("npy"));
    }

    #[test]
    fn edited_safetensors_never_panics(at in 0usize..400, byte in any::<u8>()) {
        let dir = TempDir::new("prop-st");
        let text = "{\"tokens\": [1, 2], \"a\": [true, false], \"n\": 3}\n{\"tokens\": [4], \"a\": [false], \"n\": -1}\n";
        let ds = Dataset::load(&dir.write("d.jsonl", text)).unwrap();
        let p = dir.path().join("d.safetensors");
        ds.write_safetensors(&p).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let at = at % bytes.len();
        bytes[at] = byte;
        std::fs::write(&p, bytes).unwrap();
        let _ = Dataset::load(&p);
    }
}

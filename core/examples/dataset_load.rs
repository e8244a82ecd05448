//! Times `Dataset::load` on a synthetic task-sized dataset: 100,000 sequences of 20-40
//! tokens with 50 columns (20 int, 10 bool, 10 string per datum; 4 int, 3 bool, 3 string
//! per position), as JSONL and as a directory of `.npy` files.
//!
//! `cargo run --release -p scrub-core --example dataset_load -- gen DIR` writes
//! `DIR/data.jsonl` and `DIR/npy/`; `... -- load PATH` loads one of them and prints the time
//! (run it under `/usr/bin/time -v` for the peak RSS of loading alone).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use scrub_core::dataset::Dataset;

const N: usize = 100_000;

/// A fixed pseudo-random stream (SplitMix64): the figures do not depend on the values.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn generate(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(13);
    let mut text = String::new();
    for _ in 0..N {
        let len = 20 + rng.next(21) as usize;
        text.push_str("{\"tokens\": [");
        for i in 0..len {
            let sep = if i == 0 { "" } else { ", " };
            write!(text, "{sep}{}", rng.next(1000))?;
        }
        text.push(']');
        for c in 0..20 {
            write!(text, ", \"int{c}\": {}", rng.next(50))?;
        }
        for c in 0..10 {
            write!(text, ", \"bool{c}\": {}", rng.next(2) == 1)?;
        }
        for c in 0..10 {
            write!(text, ", \"str{c}\": \"label-{}\"", rng.next(12))?;
        }
        let per_position = |text: &mut String, rng: &mut Rng, f: &dyn Fn(u64) -> String| {
            text.push('[');
            for i in 0..len {
                let sep = if i == 0 { "" } else { ", " };
                text.push_str(sep);
                text.push_str(&f(rng.next(8)));
            }
            text.push(']');
        };
        for c in 0..4 {
            write!(text, ", \"pint{c}\": ")?;
            per_position(&mut text, &mut rng, &|x| x.to_string());
        }
        for c in 0..3 {
            write!(text, ", \"pbool{c}\": ")?;
            per_position(&mut text, &mut rng, &|x| (x % 2 == 1).to_string());
        }
        for c in 0..3 {
            write!(text, ", \"pstr{c}\": ")?;
            per_position(&mut text, &mut rng, &|x| format!("\"p{x}\""));
        }
        text.push_str("}\n");
    }
    let jsonl = dir.join("data.jsonl");
    std::fs::write(&jsonl, &text)?;
    println!(
        "wrote {} ({:.1} MB)",
        jsonl.display(),
        text.len() as f64 / 1e6
    );
    let ds = Dataset::load(&jsonl)?;
    ds.write_npy_dir(&dir.join("npy"))?;
    println!("wrote {}", dir.join("npy").display());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, dir] if cmd == "gen" => generate(Path::new(dir)),
        [cmd, path] if cmd == "load" => {
            let start = Instant::now();
            let ds = Dataset::load(&PathBuf::from(path))?;
            println!(
                "{path}: {} data, {} tokens, {} columns in {:.2} s",
                ds.len(),
                ds.offsets().last().unwrap(),
                ds.columns().len(),
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        _ => Err("usage: dataset_load gen DIR | dataset_load load PATH".into()),
    }
}

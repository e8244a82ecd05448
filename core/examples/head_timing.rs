//! Times `forward::head_result` for one head of a model (by default the induction model,
//! n = 256), the node a treeified induction hypothesis recomputes most:
//! `cargo run --release -p scrub-core --example head_timing [config.ron model.safetensors]`.

use std::path::PathBuf;
use std::time::Instant;

use scrub_core::forward::head_result;
use scrub_core::{Model, TokenId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/induction/model");
    let (config, weights) = match args.as_slice() {
        [c, w] => (PathBuf::from(c), PathBuf::from(w)),
        _ => (dir.join("config.ron"), dir.join("model.safetensors")),
    };
    let model = Model::load(&config, &weights)?;
    let cfg = &model.config;
    let n = cfg.n_ctx;
    // A fixed pseudo-random sequence and residual inputs: timing does not depend on values.
    let tokens: Vec<TokenId> = (0..n)
        .map(|i| TokenId(((i * 7919 + 13) % cfg.d_vocab) as u32))
        .collect();
    let resid = |seed: usize| -> Vec<f32> {
        (0..n * cfg.d_model)
            .map(|i| ((i * 31 + seed) as f32 * 0.013).sin())
            .collect()
    };
    let (q, k, v) = (resid(1), resid(2), resid(3));
    let layer = cfg.n_layers - 1;
    let mut sink = 0.0f32;
    sink += head_result(&model, layer, 0, &q, &k, &v, &tokens)[0];
    let reps = 50;
    let start = Instant::now();
    for r in 0..reps {
        sink += head_result(&model, layer, r % cfg.n_heads, &q, &k, &v, &tokens)[0];
    }
    let per = start.elapsed().as_secs_f64() / reps as f64;
    println!(
        "head_result, n = {n}, d_model {}, {} heads: {:.3} ms per call ({reps} calls; checksum {sink})",
        cfg.d_model,
        cfg.n_heads,
        per * 1e3
    );
    Ok(())
}

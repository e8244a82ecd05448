//! The project's backward pass against candle's autodiff on the committed induction model:
//! the next-token loss's gradient with respect to the embeddings (every position, through
//! both layers, the attention softmax and the LayerNorms), and with respect to each layer's
//! b_O (the sum over positions of that layer's head-output gradient).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor, Var};
use scrub_core::feature::DatumId;
use scrub_core::gradient::backward;
use scrub_core::scrub::graph::{NodeId, ScrubGraph};
use scrub_core::scrub::run::log_loss_gradient;
use scrub_core::scrub::transformer::TransformerGraph;
use scrub_core::{Model, TokenId};
use scrub_train::tokens_file::TokenFile;
use scrub_train::AttnOnly;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/induction/model")
}

fn max_abs(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[test]
fn gradients_match_candle_autodiff() {
    let dir = model_dir();
    let reference = Model::load(&dir.join("config.ron"), &dir.join("model.safetensors")).unwrap();
    let cfg = reference.config.clone();
    let candle = AttnOnly::load(&cfg, &dir.join("model.safetensors")).unwrap();
    let seqs = TokenFile::read(&dir.join("validation.u16")).unwrap();
    for seq in seqs.sequences().unwrap().take(2) {
        let t = seq.len();
        assert_eq!(t, cfg.n_ctx, "validation sequences fill the context");
        let ids: Vec<u32> = seq.iter().map(|&v| v as u32).collect();

        // candle: the loss as the trainer computes it, differentiated by autodiff.
        let x = Tensor::from_vec(ids.clone(), (1, t), &Device::Cpu).unwrap();
        let embedded = Var::from_tensor(&candle.embed(&x).unwrap().detach()).unwrap();
        let logits = candle.forward_embedded(embedded.as_tensor()).unwrap();
        let v = cfg.d_vocab_out;
        let inputs = logits.reshape((t, v)).unwrap().narrow(0, 0, t - 1).unwrap();
        let targets = Tensor::from_vec(ids[1..].to_vec(), t - 1, &Device::Cpu).unwrap();
        let loss = candle_nn::loss::cross_entropy(&inputs, &targets).unwrap();
        let grads = loss.backward().unwrap();
        let d_embed: Vec<f32> = grads
            .get(embedded.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();

        // Ours: reverse accumulation over the scrubbing graph.
        let tokens: Vec<TokenId> = ids.iter().map(|&i| TokenId(i)).collect();
        let g = TransformerGraph::new(&reference, vec![tokens]).unwrap();
        let all: Vec<NodeId> = (0..g.nodes().len()).map(NodeId).collect();
        let values = g.plain(&[DatumId(0)], &all).unwrap().remove(0);
        let next = |_: DatumId| (0..t - 1).map(|p| (p, ids[p + 1])).collect::<Vec<_>>();
        let d_out = log_loss_gradient(next, v)(DatumId(0), &values[g.output().0]);
        let ours = backward(&g, DatumId(0), &values, &d_out).unwrap();

        let embed = &ours.nodes[g.find("embed").unwrap().0];
        let diff: Vec<f32> = embed.iter().zip(&d_embed).map(|(a, b)| a - b).collect();
        let (err, scale) = (max_abs(&diff), max_abs(&d_embed));
        println!("∂loss/∂embed: max |ours − candle| = {err:.2e} (max |grad| {scale:.2e})");
        assert!(
            scale > 0.0 && err <= 1e-3 * scale,
            "embedding gradient off by {err} of {scale}"
        );

        for l in 0..cfg.n_layers {
            let b_o: Vec<f32> = grads
                .get(candle.p(&format!("blocks.{l}.attn.b_O")))
                .unwrap()
                .to_vec1()
                .unwrap();
            let head = &ours.nodes[g.find(&format!("blocks.{l}.attn.head.0")).unwrap().0];
            let d = cfg.d_model;
            let summed: Vec<f32> = (0..d)
                .map(|j| (0..t).map(|p| head[p * d + j]).sum())
                .collect();
            let diff: Vec<f32> = summed.iter().zip(&b_o).map(|(a, b)| a - b).collect();
            let (err, scale) = (max_abs(&diff), max_abs(&b_o));
            println!("layer {l} b_O: max |ours − candle| = {err:.2e} (max |grad| {scale:.2e})");
            assert!(
                scale > 0.0 && err <= 1e-3 * scale,
                "layer {l}: off by {err} of {scale}"
            );
        }
    }
}

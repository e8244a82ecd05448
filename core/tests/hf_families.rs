//! The Llama, Qwen2 and GPT-NeoX fixtures (`scripts/export_hf_fixtures.py`): they load as
//! the architectures they are (RMSNorm, rotary, SwiGLU, grouped-query attention; parallel and
//! sequential partial-rotary blocks), record their own hooks, and broken folders of these
//! families are errors that name what is wrong. GPT-2 and the checks shared by every family
//! are in `hf_fixtures.rs`.

mod hf_common;

use std::path::Path;

use hf_common::{copy_of, edit_config, edit_tensors, load_err, max_abs_diff};
use scrub_core::forward::forward;
use scrub_core::hooks::ActivationCache;
use scrub_core::testing::{hf_fixture, HF_FIXTURE_DIR};
use scrub_core::weights::HfCheckpoint;
use scrub_core::{ActFn, Model, Normalization, PositionalKind, TokenBatch};

#[test]
fn the_llama_fixtures_load_as_rmsnorm_rotary_swiglu_gqa_models() {
    let dir = Path::new(HF_FIXTURE_DIR);
    let llama = HfCheckpoint::load(&dir.join("llama_tiny")).unwrap();
    let c = &llama.model.config;
    assert_eq!((c.n_layers, c.n_heads, c.d_model, c.d_head), (2, 4, 32, 8));
    assert_eq!((c.d_mlp, c.d_vocab, c.n_ctx), (Some(48), 50, 16));
    assert_eq!(
        (c.n_kv_heads, c.rope_theta, c.ln_eps),
        (Some(2), 10000.0, 1e-6)
    );
    assert_eq!(c.normalization, Normalization::RMSNorm);
    assert_eq!(c.positional, PositionalKind::Rotary);
    assert_eq!(c.act_fn, ActFn::Silu);
    assert!(c.gated_mlp && !llama.tie_word_embeddings);
    assert_eq!(llama.architecture.as_deref(), Some("LlamaForCausalLM"));
    // transformers' num_parameters(): embed 1600, per layer 2·32 + q 1024 + k, v 512 each +
    // o 1024 + 3·1536, norm 32, lm_head 1600.
    assert_eq!(
        llama.n_params,
        1600 + 2 * (64 + 1024 + 1024 + 1024 + 3 * 1536) + 32 + 1600
    );
    assert!(llama.model.weights.w_pos.is_empty());
    let b = &llama.model.weights.blocks[0].attn;
    assert!(b.b_q.iter().chain(&b.b_k).chain(&b.b_o).all(|&v| v == 0.0));

    let qwen = HfCheckpoint::load(&dir.join("qwen2_tiny")).unwrap();
    let c = &qwen.model.config;
    assert_eq!((c.n_kv_heads, c.rope_theta), (Some(1), 1e6));
    assert!(qwen.tie_word_embeddings);
    let b = &qwen.model.weights.blocks[0].attn;
    assert_eq!((b.b_k.len(), b.w_k.len()), (8, 32 * 8));
    assert!(b.b_q.iter().any(|&v| v != 0.0) && b.b_o.iter().all(|&v| v == 0.0));
}

#[test]
fn the_llama_forward_records_the_rotary_and_gated_mlp_hooks() {
    let f = hf_fixture("llama_tiny");
    let batch = TokenBatch::from_sequences(f.seqs.iter().map(Vec::as_slice));
    let mut caches: Vec<ActivationCache> = Vec::new();
    forward(&f.model, &batch, Some(&mut caches));
    let c = &caches[1];
    let n = f.seqs[1].len();
    assert_eq!(c.get("blocks.0.attn.hook_q").unwrap().shape, [n, 4, 8]);
    assert_eq!(c.get("blocks.0.attn.hook_k").unwrap().shape, [n, 2, 8]);
    assert_eq!(c.get("blocks.0.attn.hook_rot_q").unwrap().shape, [n, 4, 8]);
    assert_eq!(c.get("blocks.1.attn.hook_rot_k").unwrap().shape, [n, 2, 8]);
    assert_eq!(
        c.get("blocks.1.mlp.hook_pre_linear").unwrap().shape,
        [n, 48]
    );
    assert!(c.get("hook_pos_embed").is_none());
    // Position 0 is not rotated.
    let (q, rq) = (
        c.get("blocks.0.attn.hook_q").unwrap(),
        c.get("blocks.0.attn.hook_rot_q").unwrap(),
    );
    assert_eq!(q.data[..32], rq.data[..32]);
    assert_ne!(q.data[32..64], rq.data[32..64]);
}

#[test]
fn unsupported_llama_config_fields_are_named() {
    for (tag, from, to, want) in [
        (
            "ropescaling",
            "\"rope_scaling\": null",
            "\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2.0}",
            "`rope_scaling`",
        ),
        (
            "kvheads",
            "\"num_key_value_heads\": 2",
            "\"num_key_value_heads\": 3",
            "num_attention_heads = 4",
        ),
        (
            "act",
            "\"hidden_act\": \"silu\"",
            "\"hidden_act\": \"gelu\"",
            "`hidden_act`",
        ),
        (
            "mlpbias",
            "\"mlp_bias\": false",
            "\"mlp_bias\": true",
            "`mlp_bias`",
        ),
        (
            "unknown",
            "\"mlp_bias\": false",
            "\"mlp_bias\": false, \"partial_rotary_factor\": 0.5",
            "`partial_rotary_factor`",
        ),
    ] {
        let d = copy_of("llama_tiny", tag);
        edit_config(&d, from, to);
        let e = load_err(&d);
        assert!(e.contains(want) && e.contains("config.json"), "{tag}: {e}");
        if tag == "kvheads" {
            assert!(e.contains("`num_key_value_heads`"), "{e}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn a_tied_qwen2_with_a_different_lm_head_or_an_untied_llama_without_one_is_an_error() {
    let d = copy_of("llama_tiny", "nohead");
    edit_tensors(&d, |t| t.retain(|(n, _, _)| n != "lm_head.weight"));
    let e = load_err(&d);
    assert!(
        e.contains("lm_head.weight") && e.contains("tie_word_embeddings"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
    let d = copy_of("llama_tiny", "extra");
    edit_tensors(&d, |t| {
        let (_, s, b) = t
            .iter()
            .find(|(n, _, _)| n == "model.norm.weight")
            .unwrap()
            .clone();
        t.push((
            "model.layers.0.self_attn.rotary_emb.inv_freq".into(),
            vec![4],
            b[..16].to_vec(),
        ));
        t.push(("model.layers.5.mlp.up_proj.weight".into(), s, b));
    });
    let e = load_err(&d);
    assert!(
        e.contains("model.layers.5.mlp.up_proj.weight") && !e.contains("inv_freq"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_neox_fixtures_load_as_parallel_and_sequential_partial_rotary_models() {
    let dir = Path::new(HF_FIXTURE_DIR);
    let pythia = HfCheckpoint::load(&dir.join("pythia_tiny")).unwrap();
    let c = &pythia.model.config;
    assert_eq!((c.n_layers, c.n_heads, c.d_model, c.d_head), (2, 4, 32, 8));
    assert_eq!((c.d_mlp, c.d_vocab, c.n_ctx), (Some(64), 50, 16));
    assert_eq!(
        (c.rotary_dim, c.rope_theta, c.ln_eps),
        (Some(2), 10000.0, 1e-5)
    );
    assert!(c.parallel_attn_mlp && !c.gated_mlp && !pythia.tie_word_embeddings);
    assert_eq!(
        (c.normalization, c.positional, c.act_fn),
        (
            Normalization::PreLayerNorm,
            PositionalKind::Rotary,
            ActFn::Gelu
        )
    );
    assert_eq!(pythia.architecture.as_deref(), Some("GPTNeoXForCausalLM"));
    // transformers' num_parameters(): embed_in 1600, per layer 2 LayerNorms (128) + fused
    // q/k/v 3072 + 96 + dense 1024 + 32 + MLP 2048 + 64 + 2048 + 32, final LayerNorm 64,
    // embed_out 1600.
    assert_eq!(pythia.n_params, 20352);
    let seq = HfCheckpoint::load(&dir.join("neox_sequential")).unwrap();
    let c = &seq.model.config;
    assert_eq!((c.rotary_dim, c.rope_theta), (Some(4), 500.0));
    assert!(!c.parallel_attn_mlp);
    assert_eq!(c.act_fn, ActFn::GeluTanh);
}

#[test]
fn a_parallel_neox_block_has_no_resid_mid_and_its_mlp_reads_the_blocks_input() {
    let f = hf_fixture("pythia_tiny");
    let batch = TokenBatch::from_sequences(f.seqs.iter().map(Vec::as_slice));
    let mut caches: Vec<ActivationCache> = Vec::new();
    forward(&f.model, &batch, Some(&mut caches));
    let c = &caches[2];
    assert!(c.get("blocks.0.hook_resid_mid").is_none());
    let get = |n: &str| c.get(n).unwrap().data.clone();
    let pre = get("blocks.1.hook_resid_pre");
    let mlp = scrub_core::forward::mlp_out(&f.model, 1, &pre);
    assert!(max_abs_diff(&mlp, &get("blocks.1.hook_mlp_out")) < 1e-6);
    // Only the first 2 of each head's 8 dimensions rotate.
    let (q, rq) = (get("blocks.0.attn.hook_q"), get("blocks.0.attn.hook_rot_q"));
    for (v, (a, b)) in q.chunks_exact(8).zip(rq.chunks_exact(8)).enumerate() {
        assert_eq!(a[2..], b[2..], "vector {v}");
        if v >= 4 {
            assert_ne!(a[..2], b[..2], "vector {v} (position {})", v / 4);
        }
    }
    let seq = hf_fixture("neox_sequential");
    let batch = TokenBatch::from_sequences(seq.seqs.iter().map(Vec::as_slice));
    let mut caches: Vec<ActivationCache> = Vec::new();
    forward(&seq.model, &batch, Some(&mut caches));
    assert!(caches[2].get("blocks.0.hook_resid_mid").is_some());
}

#[test]
fn a_gpt_neox_model_checkpoint_without_the_prefix_loads_the_same_weights() {
    let pythia = hf_fixture("pythia_tiny").model;
    let d = copy_of("pythia_tiny", "neoxbase");
    edit_config(&d, "GPTNeoXForCausalLM", "GPTNeoXModel");
    edit_tensors(&d, |ts| {
        for t in ts.iter_mut() {
            t.0 = t.0.trim_start_matches("gpt_neox.").to_string();
        }
    });
    assert_eq!(Model::load_hf(&d).unwrap(), pythia);
    // Tied: embed_out may go, and the unembedding is then the embedding.
    edit_config(
        &d,
        "\"tie_word_embeddings\": false",
        "\"tie_word_embeddings\": true",
    );
    let e = load_err(&d);
    assert!(
        e.contains("`embed_out.weight`") && e.contains("differs from `embed_in.weight`"),
        "{e}"
    );
    edit_tensors(&d, |ts| ts.retain(|t| t.0 != "embed_out.weight"));
    let tied = Model::load_hf(&d).unwrap();
    let (v, dm) = (50, 32);
    for (t, row) in tied.weights.w_e.chunks_exact(dm).enumerate() {
        for (j, &x) in row.iter().enumerate() {
            assert_eq!(tied.weights.w_u[j * v + t], x);
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn broken_neox_checkpoints_are_named() {
    // An untied model without embed_out.
    let d = copy_of("pythia_tiny", "neoxnohead");
    edit_tensors(&d, |ts| ts.retain(|t| t.0 != "embed_out.weight"));
    let e = load_err(&d);
    assert!(
        e.contains("`embed_out.weight`") && e.contains("`tie_word_embeddings` false"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
    // The fused projection of the wrong shape, named with the shape the config implies.
    let d = copy_of("pythia_tiny", "neoxshape");
    edit_tensors(&d, |ts| {
        let t = ts
            .iter_mut()
            .find(|t| t.0 == "gpt_neox.layers.1.attention.query_key_value.weight")
            .unwrap();
        t.1 = vec![64, 32];
        t.2.truncate(64 * 32 * 4);
    });
    let e = load_err(&d);
    assert!(
        e.contains(
            "`gpt_neox.layers.1.attention.query_key_value.weight` has shape [64, 32], \
             expected [96, 32]"
        ),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
    // Old checkpoints' buffers are ignored; a tensor of no NeoX model is named.
    let d = copy_of("pythia_tiny", "neoxbuffers");
    edit_tensors(&d, |ts| {
        ts.push((
            "gpt_neox.layers.0.attention.bias".into(),
            vec![1, 1, 16, 16],
            vec![0; 1024],
        ));
        ts.push((
            "gpt_neox.layers.1.attention.masked_bias".into(),
            vec![],
            vec![0; 4],
        ));
        ts.push((
            "gpt_neox.layers.1.attention.rotary_emb.inv_freq".into(),
            vec![1],
            vec![0; 4],
        ));
    });
    Model::load_hf(&d).unwrap();
    edit_tensors(&d, |ts| {
        ts.push((
            "gpt_neox.layers.0.mlp.gate_proj.weight".into(),
            vec![1],
            vec![0; 4],
        ));
    });
    let e = load_err(&d);
    assert!(
        e.contains("gpt_neox.layers.0.mlp.gate_proj.weight") && e.contains("GPTNeoXForCausalLM"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
    // Config values scrub does not compute.
    for (tag, from, to, want) in [
        (
            "neoxpct",
            "\"rotary_pct\": 0.25",
            "\"rotary_pct\": 0.125",
            "int(8 * rotary_pct) = 1 dimensions",
        ),
        (
            "neoxcopy",
            "\"partial_rotary_factor\": 0.25",
            "\"partial_rotary_factor\": 0.5",
            "`partial_rotary_factor` = 0.5",
        ),
        (
            "neoxact",
            "\"hidden_act\": \"gelu\"",
            "\"hidden_act\": \"silu\"",
            "`hidden_act` = \"silu\"",
        ),
        (
            "neoxunknown",
            "\"use_cache\"",
            "\"num_key_value_heads\": 2, \"use_cache\"",
            "`num_key_value_heads`",
        ),
    ] {
        let d = copy_of("pythia_tiny", tag);
        edit_config(&d, from, to);
        if tag == "neoxpct" {
            // Its copy, which transformers saves beside it, agreeing.
            edit_config(
                &d,
                "\"partial_rotary_factor\": 0.25",
                "\"partial_rotary_factor\": 0.125",
            );
        }
        let e = load_err(&d);
        assert!(e.contains(want) && e.contains("config.json"), "{tag}: {e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}

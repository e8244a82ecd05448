//! First-block heads computed one by one give the forward pass's bits: a node's plain value
//! must not depend on which other nodes its datum was run for.

use super::*;
use crate::config::{AttentionKind, ModelConfig, Normalization};
use crate::testing::{paren_like_config, random_model};

/// Eight heads, so that one or two of them take the head-by-head path.
fn config(positional: PositionalKind, d_model: usize, n_kv_heads: Option<usize>) -> ModelConfig {
    let mut cfg = paren_like_config(AttentionKind::Causal, positional);
    cfg.n_heads = 8;
    cfg.d_model = d_model;
    cfg.d_head = 8;
    cfg.n_ctx = 12;
    cfg.n_kv_heads = n_kv_heads;
    cfg.d_vocab = 7;
    if positional == PositionalKind::Rotary {
        cfg.normalization = Normalization::RMSNorm;
    }
    cfg
}

pub(super) fn data(cfg: &ModelConfig) -> Vec<Vec<TokenId>> {
    (0..5u32)
        .map(|s| {
            (0..cfg.n_ctx as u32)
                .map(|i| TokenId(if i > 8 + s { 1 } else { (i * 5 + s * 3) % 7 }))
                .collect()
        })
        .collect()
}

#[test]
fn first_block_heads_alone_are_the_forward_passs_bits() {
    for (positional, d_model, kv) in [
        (PositionalKind::Standard, 24, None),
        (PositionalKind::Shortformer, 24, None),
        (PositionalKind::Rotary, 24, Some(2)),
        // Wider than matrixmultiply's depth block, so the products are blocked in depth.
        (PositionalKind::Shortformer, 320, None),
    ] {
        let cfg = config(positional, d_model, kv);
        let m = random_model(&cfg, 7, 0.3);
        let seqs = data(&cfg);
        let ids: Vec<DatumId> = (0..seqs.len() as u32).map(DatumId).collect();
        for g in [
            TransformerGraph::new(&m, seqs.clone()).unwrap(),
            TransformerGraph::with_patterns(&m, seqs.clone()).unwrap(),
        ] {
            let node = |c| g.node_of(c).unwrap();
            let mut few = vec![
                node(Component::Embed),
                node(Component::Head { layer: 0, head: 3 }),
                node(Component::AttnBias { layer: 0 }),
            ];
            if g.has_patterns() {
                few.push(node(Component::Pattern { layer: 0, head: 6 }));
            }
            few.extend(g.node_of(Component::PosEmbed));
            let alone = g
                .first_block_plain(&ids, &few)
                .expect("few first-block heads");
            // A second-block node makes the same request a forward pass.
            let mut more = few.clone();
            more.push(node(Component::Head { layer: 1, head: 0 }));
            assert!(g.first_block_plain(&ids, &more).is_none());
            let passes = match g.has_patterns() {
                true => TransformerGraph::with_patterns(&m, seqs.clone()),
                false => TransformerGraph::new(&m, seqs.clone()),
            }
            .unwrap()
            .without_replays();
            let forward = passes.plain(&ids, &more).unwrap();
            for (a, f) in alone.iter().zip(&forward) {
                for (j, &n) in few.iter().enumerate() {
                    assert!(
                        a[j].iter()
                            .zip(&f[j])
                            .all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{positional:?}, d_model {d_model}: `{}` differs from the forward pass",
                        g.node(n).name
                    );
                }
            }
            assert_eq!(passes.plain(&ids, &few).unwrap(), alone);
        }
    }
}

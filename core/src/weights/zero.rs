//! Components whose output is zero on every input: compiled models (Tracr) leave empty
//! sublayers and unused heads, and reports and hypotheses should say so instead of
//! treating them as terms that matter.

use super::{AttnWeights, Model};

fn all_zero(v: &[f32]) -> bool {
    v.iter().all(|&x| x == 0.0)
}

impl Model {
    /// The heads (`L.H`) and MLPs (`mlpL`) whose output is identically zero: a head whose
    /// `W_O` is zero, or whose values are (`W_V` and `b_V`); an MLP whose `W_out` and
    /// `b_out` are, or whose hidden layer is (`W_in`, `b_in` zero: every supported
    /// activation maps 0 to 0) with `b_out` zero. Output biases (`b_O`) are their own terms.
    pub fn zero_components(&self) -> Vec<String> {
        let c = &self.config;
        let mut out = Vec::new();
        for (l, block) in self.weights.blocks.iter().enumerate() {
            for h in 0..c.n_heads {
                if head_is_zero(&block.attn, h, c.d_model, c.d_head) {
                    out.push(format!("{l}.{h}"));
                }
            }
            if let Some(m) = &block.mlp {
                let silent = all_zero(&m.w_in) && all_zero(&m.b_in);
                if all_zero(&m.b_out) && (all_zero(&m.w_out) || silent) {
                    out.push(format!("mlp{l}"));
                }
            }
        }
        out
    }
}

fn head_is_zero(a: &AttnWeights, h: usize, d_model: usize, d_head: usize) -> bool {
    let per_head = d_model * d_head;
    let w_o = &a.w_o[h * per_head..(h + 1) * per_head];
    let w_v = &a.w_v[h * per_head..(h + 1) * per_head];
    let b_v = &a.b_v[h * d_head..(h + 1) * d_head];
    all_zero(w_o) || (all_zero(w_v) && all_zero(b_v))
}

#[cfg(test)]
mod tests {
    use crate::config::{AttentionKind, PositionalKind};
    use crate::testing::{paren_like_config, random_model};

    #[test]
    fn zeroed_heads_and_mlps_are_found_and_nothing_else() {
        let mut m = random_model(
            &paren_like_config(AttentionKind::Bidirectional, PositionalKind::Standard),
            3,
            0.5,
        );
        assert!(m.zero_components().is_empty());
        let (d, e) = (m.config.d_model, m.config.d_head);
        let b = &mut m.weights.blocks[1];
        b.attn.w_o[d * e..2 * d * e]
            .iter_mut()
            .for_each(|x| *x = 0.0);
        let mlp = b.mlp.as_mut().unwrap();
        mlp.w_in.iter_mut().for_each(|x| *x = 0.0);
        mlp.b_in.iter_mut().for_each(|x| *x = 0.0);
        // A hidden layer that is zero still leaves b_out: not zero yet.
        assert_eq!(m.zero_components(), vec!["1.1".to_string()]);
        let mlp = m.weights.blocks[1].mlp.as_mut().unwrap();
        mlp.b_out.iter_mut().for_each(|x| *x = 0.0);
        assert_eq!(
            m.zero_components(),
            vec!["1.1".to_string(), "mlp1".to_string()]
        );
    }
}

use super::*;
use crate::paren::features::tests::real;
use scrub_core::forward::forward;
use scrub_core::hooks::ActivationCache;
use scrub_core::{DatumId, TokenBatch};

#[test]
fn phi_is_linear_in_two_p_minus_one() {
    let phi = Phi {
        v: vec![1.0, -2.0, 0.5],
    };
    assert_eq!(phi.at(0.5), vec![0.0, 0.0, 0.0]);
    assert_eq!(phi.at(1.0), phi.v);
    assert_eq!(phi.at(0.0), vec![-1.0, 2.0, -0.5]);
    assert_eq!(phi.at(0.75), vec![0.5, -1.0, 0.25]);
}

#[test]
fn cosine_handles_zero_and_opposite_vectors() {
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    assert!((cosine(&[1.0, 2.0], &[-2.0, -4.0]) + 1.0).abs() < 1e-12);
}

#[test]
fn real_head_values_collapse_to_one_opposed_pair_of_directions() {
    let hv = HeadValues::from_model(&real().model).unwrap();
    assert_eq!((hv.open.len(), hv.close.len()), (40, 40));
    let f = hv.facts();
    eprintln!("{f:?} (write-up: open 0.994, close 0.995, open-close -0.995)");
    assert!(f.min_cos_open >= 0.98, "{f:?}");
    assert!(f.min_cos_close >= 0.98, "{f:?}");
    assert!(f.cos_open_close <= -0.98, "{f:?}");
    let phi = hv.phi();
    assert_eq!(phi.v.len(), real().model.config.d_model);
}

/// R² of head 0.0's output at position 1 against phi(p_1) + c over `ids`, with c fitted as
/// the mean residual (so the constant-only model is the mean, R² = 0).
fn r_squared(ids: &[DatumId]) -> f64 {
    let r = real();
    let (d, h) = (r.model.config.d_model, r.model.config.n_heads);
    let phi = Phi::from_model(&r.model).unwrap();
    let toks: Vec<_> = ids
        .iter()
        .map(|id| r.dataset.examples[id.index()].tokens())
        .collect();
    let batch = TokenBatch::from_sequences(toks.iter().map(Vec::as_slice));
    batch.validate(&r.model.config).unwrap();
    let mut caches: Vec<ActivationCache> = Vec::new();
    forward(&r.model, &batch, Some(&mut caches));
    let ys: Vec<Vec<f64>> = caches
        .iter()
        .map(|c| {
            let t = c
                .get("blocks.0.attn.hook_result")
                .expect("forward records hook_result");
            // [pos, head, d_model]: position 1, head 0.
            t.data[h * d..h * d + d].iter().map(|&x| x as f64).collect()
        })
        .collect();
    let phis: Vec<Vec<f64>> = ids
        .iter()
        .map(|&id| {
            let p1 = r.features.p(id, 1).expect("every datum has a first paren");
            phi.at(p1).into_iter().map(f64::from).collect()
        })
        .collect();
    let n = ys.len() as f64;
    let mean = |rows: &dyn Fn(usize) -> Vec<f64>| -> Vec<f64> {
        (0..d)
            .map(|j| (0..ys.len()).map(|k| rows(k)[j]).sum::<f64>() / n)
            .collect()
    };
    let y_mean = mean(&|k| ys[k].clone());
    let c = mean(&|k| ys[k].iter().zip(&phis[k]).map(|(y, p)| y - p).collect());
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for k in 0..ys.len() {
        for j in 0..d {
            ss_res += (ys[k][j] - phis[k][j] - c[j]).powi(2);
            ss_tot += (ys[k][j] - y_mean[j]).powi(2);
        }
    }
    1.0 - ss_res / ss_tot
}

#[test]
fn real_phi_predicts_head_00_at_position_1() {
    let r = real();
    let first_open: Vec<DatumId> = (0..r.dataset.len() as u32)
        .map(DatumId)
        .filter(|d| r.dataset.examples[d.index()].text.starts_with('('))
        .take(300)
        .collect();
    let any: Vec<DatumId> = (0..300).map(DatumId).collect();
    let (r2_open, r2_any) = (r_squared(&first_open), r_squared(&any));
    eprintln!("R² of phi(p_1) + c for head 0.0 at position 1: {r2_open:.4} on 300 open-starting sequences, {r2_any:.4} on the first 300 sequences");
    assert!(r2_open > 0.75, "open-starting R² {r2_open}");
}

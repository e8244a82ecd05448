//! The GPU forward against TransformerLens itself, on the committed fixtures
//! (`scripts/export_tl_fixtures.py`): logits within 1e-4 of TransformerLens's.

mod common;

use scrub_core::testing::{tl_fixture, TL_FIXTURES};
use scrub_core::{Executor, TokenBatch};
use scrub_kernels::GpuExecutor;

const LOGIT_TOL: f32 = 1e-4;

#[test]
fn every_fixture_matches_transformer_lens_logits_on_the_gpu() {
    let Some(ctx) = common::ctx() else { return };
    for name in TL_FIXTURES {
        let f = tl_fixture(name);
        let gpu = GpuExecutor::new(ctx.clone(), &f.model).unwrap();
        let batch = TokenBatch::from_sequences(f.seqs.iter().map(Vec::as_slice));
        let got = gpu.logits(&batch).unwrap();
        let want = &f.expected["logits"];
        assert_eq!(got.shape, want.shape, "{name}");
        let diff = got.max_abs_diff(want);
        eprintln!("{name}: GPU max |Δ logit| vs TransformerLens = {diff:.2e}");
        assert!(diff <= LOGIT_TOL, "{name}: max |Δ logit| = {diff}");
    }
}

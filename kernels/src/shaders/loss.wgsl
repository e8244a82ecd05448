// Per-target log loss and correctness from logits, with the numerically careful formula of
// scrub_core::metrics::target_outcome:
//   j* = first arg-max, m = l[j*],  loss = (m - l[y]) + log1p(Σ_{j≠j*} exp(l_j - m)),
//   correct = (j* == y).
// The paren model's losses are ~1e-6, far below f32 resolution of log-sum-exp near 1, so
// log1p must keep relative precision for tiny arguments. WGSL has no log1p, and GPU `log`
// only guarantees absolute error ~2^-21 near 1, so small arguments use the series
// log1p(x) = 2 atanh(x / (2 + x)) instead of log(1 + x).
//
// Workgroup size: 64 threads, one thread per target; workgroups on a 2-D grid (linear
// index = wid.x + wid.y * nwg.x).
// Injected constants: V = d_vocab_out, VP = padded row stride of the logits.
//
// Bindings (group 0):
//   0 counts:  uniform vec4<u32>   (rows, seqs, targets, 0)
//   1 logits:  array<f32>        [targets, VP]
//   2 labels:  array<u32>        [targets]
//   3 out:     array<vec2<f32>>  [targets]   (loss, 1.0 if correct else 0.0)

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec2<f32>>;

fn log1p_(x: f32) -> f32 {
    if x > 1.0 {
        return log(1.0 + x);
    }
    // t ≤ 1/3, so nine terms of 2 Σ t^(2k+1) / (2k+1) reach f32 precision.
    let t = x / (2.0 + x);
    let t2 = t * t;
    var s = 1.0 / 19.0;
    s = fma(s, t2, 1.0 / 17.0);
    s = fma(s, t2, 1.0 / 15.0);
    s = fma(s, t2, 1.0 / 13.0);
    s = fma(s, t2, 1.0 / 11.0);
    s = fma(s, t2, 1.0 / 9.0);
    s = fma(s, t2, 1.0 / 7.0);
    s = fma(s, t2, 1.0 / 5.0);
    s = fma(s, t2, 1.0 / 3.0);
    s = fma(s, t2, 1.0);
    return 2.0 * t * s;
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if i >= counts.z {
        return;
    }
    let base = i * VP;
    var jstar = 0u;
    var m = logits[base];
    for (var j = 1u; j < V; j++) {
        let v = logits[base + j];
        if v > m {
            m = v;
            jstar = j;
        }
    }
    var rest = 0.0;
    for (var j = 0u; j < V; j++) {
        if j != jstar {
            rest += exp(logits[base + j] - m);
        }
    }
    let y = labels[i];
    let loss = (m - logits[base + y]) + log1p_(rest);
    out[i] = vec2<f32>(loss, select(0.0, 1.0, jstar == y));
}

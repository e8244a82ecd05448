// The MLP's gradient back through its nonlinearity (the CPU's
// scrub_core::gradient::mlp::mlp_out_vjp between W_out and W_in), elementwise on vec4s:
//   plain:  grad ← grad ⊙ act'(linear)                    (linear = y W_in + b_in)
//   gated:  hidden = act(gate) ⊙ linear, so with g = grad:
//           grad ← g ⊙ act(gate),  d_gate ← g ⊙ linear ⊙ act'(gate)   (gate = y W_gate)
// act'(x): ReLU 1[x > 0]; exact GELU Φ(x) + x·φ(x); tanh-GELU
// ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³));
// SiLU σ(x)(1 + x(1 − σ(x))). `activate` and Φ come from activation.wgsl (appended).
//
// Workgroup size: 64 threads, one thread per vec4 of the [rows, MP4] hidden layer.
// Workgroups on a 2-D grid (linear index = wid.x + wid.y * nwg.x).
// Injected constants: MP4 = padded d_mlp / 4, ACT (as activation.wgsl), GATED.
//
// Bindings (group 0):
//   0 counts: uniform vec4<u32>   (rows, seqs, targets, 0); rows = counts.x
//   1 linear: array<vec4<f32>>  [rows, MP4]  y W_in + b_in
//   2 gate:   array<vec4<f32>>  [rows, MP4]  y W_gate (read when GATED)
//   3 grad:   array<vec4<f32>>  [rows, MP4]  in: ∂L/∂hidden; out: ∂L/∂linear
//   4 d_gate: array<vec4<f32>>  [rows, MP4]  ∂L/∂gate (written when GATED)

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> linear: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gate: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> grad: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> d_gate: array<vec4<f32>>;

fn activate_grad(v: vec4<f32>) -> vec4<f32> {
    if ACT == 1u {
        return select(vec4<f32>(0.0), vec4<f32>(1.0), v > vec4<f32>(0.0));
    }
    if ACT == 2u {
        let c = 0.7978845608028654;
        let t = tanh(gelu_tanh_arg(v));
        return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * v * v);
    }
    if ACT == 3u {
        let pdf = exp(-0.5 * v * v) * 0.3989422804014327;
        return normal_cdf(v) + v * pdf;
    }
    if ACT == 4u {
        let s = 1.0 / (1.0 + exp(-v));
        return s * (1.0 + v * (1.0 - s));
    }
    return vec4<f32>(1.0);
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if i >= counts.x * MP4 {
        return;
    }
    let g = grad[i];
    if GATED {
        let x = gate[i];
        grad[i] = g * activate(x);
        d_gate[i] = g * linear[i] * activate_grad(x);
    } else {
        grad[i] = g * activate_grad(linear[i]);
    }
}

// Token embedding gather with the standard positional embedding added:
//   resid[r, :] = W_E[token[r], :] (+ W_pos[position[r], :] when ADD_POS)
//
// Workgroup size: 64 threads, one thread per vec4 of the output; workgroups on a 2-D grid
// (linear index = wid.x + wid.y * nwg.x), threads past rows * DP4 return.
// Injected constants: DP4 = padded d_model / 4, ADD_POS.
//
// Bindings (group 0):
//   0 counts:  uniform vec4<u32>   (rows, seqs, targets, 0)
//   1 rowinfo: array<vec2<u32>>  [rows]  (token id, position in its sequence)
//   2 w_e:     array<vec4<f32>>  [d_vocab, DP4]
//   3 w_pos:   array<vec4<f32>>  [n_ctx, DP4]
//   4 resid:   array<vec4<f32>>  [rows, DP4]  written

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> rowinfo: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> w_e: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w_pos: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> resid: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    if i >= counts.x * DP4 {
        return;
    }
    let r = i / DP4;
    let c = i % DP4;
    let info = rowinfo[r];
    var v = w_e[info.x * DP4 + c];
    if ADD_POS {
        v += w_pos[info.y * DP4 + c];
    }
    resid[i] = v;
}

// Rotary position embedding (Hugging Face's rotate-half layout), in place on the queries
// and keys of a q|k|v buffer: for each row r at position p = rowinfo[r].y and each head
// vector x of width DH (NH query heads from column Q0, NH key heads from column K0, head
// stride DH), with c = rope[p, i] and s = rope[p, HALF + i] for i < HALF = rotary_dims/2:
//   x[i]        <- x[i] * c - x[i + HALF] * s
//   x[i + HALF] <- x[i + HALF] * c + x[i] * s
// Only the first 2*HALF dimensions of a head rotate: all DH of them (Llama), or GPT-NeoX's
// partial rotary (rotary_pct < 1), whose other dimensions pass through untouched.
// The cos/sin table is the CPU reference's own (scrub_core::forward::rotary_cos_sin), so
// both executors rotate by the same f32 values.
//
// Workgroup size: 64 threads, one thread per (row, head vector), 2·NH per row (queries then
// keys); each thread owns its vector, so no barriers. Workgroups on a 2-D grid (linear index
// = wid.x + wid.y * nwg.x).
// Injected constants: LD (row stride of qkv in floats), Q0, K0, NH, DH, HALF.
//
// Bindings (group 0):
//   0 counts:  uniform vec4<u32>   (rows, seqs, targets, 0)
//   1 rowinfo: array<vec2<u32>>  [rows]          (token, position)
//   2 rope:    array<f32>        [n_ctx, 2*HALF] cos row half then sin row half
//   3 qkv:     array<f32>        [rows, LD]      rotated in place

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> rowinfo: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> rope: array<f32>;
@group(0) @binding(3) var<storage, read_write> qkv: array<f32>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = (wid.x + wid.y * nwg.x) * 64u + lid;
    let r = t / (2u * NH);
    if r >= counts.x {
        return;
    }
    let j = t % (2u * NH);
    var col = Q0 + j * DH;
    if j >= NH {
        col = K0 + (j - NH) * DH;
    }
    let base = r * LD + col;
    let tab = rowinfo[r].y * 2u * HALF;
    for (var i = 0u; i < HALF; i++) {
        let c = rope[tab + i];
        let s = rope[tab + HALF + i];
        let a = qkv[base + i];
        let b = qkv[base + HALF + i];
        qkv[base + i] = a * c - b * s;
        qkv[base + HALF + i] = b * c + a * s;
    }
}

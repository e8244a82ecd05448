// Input gradients of one head's masked softmax attention (attention.wgsl) on sequences of
// exactly N rows, from the gradient dz of its output z (the CPU's
// scrub_core::gradient::head::{head_from_pattern_vjp, head_pattern_vjp} between the
// projections). With P the softmax of s_ij = SCALE · q_i·k_j over the unmasked keys (keys
// after the query for causal models, keys holding the pad token), dP_ij = dz_i·v_j and
// D_i = Σ_j P_ij dP_ij (= dz_i·z_i):
//   dS_ij = P_ij (dP_ij − D_i)
//   dq_i  = SCALE Σ_j dS_ij k_j        (PASS 0, one thread per query row)
//   dk_j  = SCALE Σ_i dS_ij q_i        (PASS 1, one thread per key row)
//   dv_j  = Σ_i P_ij dz_i              (PASS 1)
// A row whose keys are all masked has P = 0 and gets nothing, as in the forward. PASS 0
// writes each query row's softmax statistics (running max m, 1/Σ, D) so PASS 1 rebuilds
// exactly the same P_ij without a [N, N] buffer. With ROTARY, q and k are the rotated ones
// the forward attended with, and dq, dk are rotated back (the rotation's transpose: the
// same cos/sin as rotary.wgsl with the sine negated) so they are gradients of the
// projections' outputs.
//
// Workgroup size: 64 threads, one row each; threads share nothing (sequences are short and
// this runs on one datum at a time), so there are no barriers. Workgroups on a 2-D grid
// (linear index = wid.x + wid.y * nwg.x). A row's sequence starts at row − position.
// Injected constants: N (rows per sequence), EP4 = padded d_head / 4, CAUSAL, HAS_PAD,
// PAD, SCALE = 1/sqrt(d_head), ROTARY, HALF = rotary_dims / 2, PASS.
//
// Bindings (group 0):
//   0 counts:  uniform vec4<u32>   (rows, seqs, targets, 0); rows = counts.x
//   1 rowinfo: array<vec2<u32>>  [rows]         (token id, position)
//   2 qkv:     array<vec4<f32>>  [rows, 3*EP4]  q, k (rotated), v; zero past d_head
//   3 dz:      array<vec4<f32>>  [rows, EP4]    ∂L/∂z
//   4 rope:    array<f32>        [n_ctx, 2*HALF] cos then sin (read when ROTARY)
//   5 stats:   array<vec4<f32>>  [rows]         (m, 1/Σ, D, 0): written by PASS 0, read by 1
//   6 out_a:   array<vec4<f32>>  [rows, EP4]    PASS 0: dq; PASS 1: dk
//   7 out_b:   array<vec4<f32>>  [rows, EP4]    PASS 1: dv (unused by PASS 0)

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> rowinfo: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dz: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> rope: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out_a: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out_b: array<vec4<f32>>;

const LD4: u32 = 3u * EP4;

fn key_ok(j: u32) -> bool {
    return !(HAS_PAD && rowinfo[j].x == PAD);
}

fn hsum(v: vec4<f32>) -> f32 {
    return v.x + v.y + v.z + v.w;
}

// Writes g (a gradient with respect to rotated q or k at `position`) rotated back.
fn write_back(row: u32, position: u32, g_in: array<vec4<f32>, EP4>) {
    var g = g_in;
    if ROTARY {
        let tab = position * 2u * HALF;
        for (var i = 0u; i < HALF; i++) {
            let c = rope[tab + i];
            let s = rope[tab + HALF + i];
            let a = g[i / 4u][i % 4u];
            let b = g[(i + HALF) / 4u][(i + HALF) % 4u];
            g[i / 4u][i % 4u] = a * c + b * s;
            g[(i + HALF) / 4u][(i + HALF) % 4u] = b * c - a * s;
        }
    }
    for (var e4 = 0u; e4 < EP4; e4++) {
        out_a[row * EP4 + e4] = g[e4] * SCALE;
    }
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = (wid.x + wid.y * nwg.x) * 64u + lid;
    if r >= counts.x {
        return;
    }
    let position = rowinfo[r].y;
    let start = r - position;
    if PASS == 0u {
        var q: array<vec4<f32>, EP4>;
        var g: array<vec4<f32>, EP4>;
        for (var e4 = 0u; e4 < EP4; e4++) {
            q[e4] = qkv[r * LD4 + e4];
            g[e4] = dz[r * EP4 + e4];
        }
        var key_end = start + N;
        if CAUSAL {
            key_end = r + 1u;
        }
        // Online softmax (as attention.wgsl) carrying Σ e^(s−m) dP alongside Σ e^(s−m).
        var m = -3.0e38;
        var l = 0.0;
        var dd = 0.0;
        for (var j = start; j < key_end; j++) {
            if !key_ok(j) {
                continue;
            }
            var s4 = vec4<f32>(0.0);
            var dp4 = vec4<f32>(0.0);
            for (var e4 = 0u; e4 < EP4; e4++) {
                s4 = fma(q[e4], qkv[j * LD4 + EP4 + e4], s4);
                dp4 = fma(g[e4], qkv[j * LD4 + 2u * EP4 + e4], dp4);
            }
            let s = hsum(s4) * SCALE;
            let dp = hsum(dp4);
            if s > m {
                let corr = exp(m - s);
                l = l * corr + 1.0;
                dd = dd * corr + dp;
                m = s;
            } else {
                let p = exp(s - m);
                l += p;
                dd += p * dp;
            }
        }
        let inv_l = select(0.0, 1.0 / l, l > 0.0);
        let big_d = dd * inv_l;
        stats[r] = vec4<f32>(m, inv_l, big_d, 0.0);
        var acc: array<vec4<f32>, EP4>;
        for (var j = start; j < key_end; j++) {
            if !key_ok(j) {
                continue;
            }
            var s4 = vec4<f32>(0.0);
            var dp4 = vec4<f32>(0.0);
            for (var e4 = 0u; e4 < EP4; e4++) {
                s4 = fma(q[e4], qkv[j * LD4 + EP4 + e4], s4);
                dp4 = fma(g[e4], qkv[j * LD4 + 2u * EP4 + e4], dp4);
            }
            let p = exp(hsum(s4) * SCALE - m) * inv_l;
            let ds = p * (hsum(dp4) - big_d);
            for (var e4 = 0u; e4 < EP4; e4++) {
                acc[e4] = fma(vec4<f32>(ds), qkv[j * LD4 + EP4 + e4], acc[e4]);
            }
        }
        write_back(r, position, acc);
    } else {
        var dk: array<vec4<f32>, EP4>;
        var dv: array<vec4<f32>, EP4>;
        // A masked key has P = 0 from every query: its gradients stay zero.
        if key_ok(r) {
            var k: array<vec4<f32>, EP4>;
            var v: array<vec4<f32>, EP4>;
            for (var e4 = 0u; e4 < EP4; e4++) {
                k[e4] = qkv[r * LD4 + EP4 + e4];
                v[e4] = qkv[r * LD4 + 2u * EP4 + e4];
            }
            var first = start;
            if CAUSAL {
                first = r;
            }
            for (var i = first; i < start + N; i++) {
                let st = stats[i];
                if st.y == 0.0 {
                    continue;
                }
                // The score with the operands in PASS 0's order, so P_ij is bit-identical.
                var s4 = vec4<f32>(0.0);
                var dp4 = vec4<f32>(0.0);
                for (var e4 = 0u; e4 < EP4; e4++) {
                    s4 = fma(qkv[i * LD4 + e4], k[e4], s4);
                    dp4 = fma(dz[i * EP4 + e4], v[e4], dp4);
                }
                let p = exp(hsum(s4) * SCALE - st.x) * st.y;
                let ds = p * (hsum(dp4) - st.z);
                for (var e4 = 0u; e4 < EP4; e4++) {
                    dv[e4] = fma(vec4<f32>(p), dz[i * EP4 + e4], dv[e4]);
                    dk[e4] = fma(vec4<f32>(ds), qkv[i * LD4 + e4], dk[e4]);
                }
            }
        }
        for (var e4 = 0u; e4 < EP4; e4++) {
            out_b[r * EP4 + e4] = dv[e4];
        }
        write_back(r, position, dk);
    }
}

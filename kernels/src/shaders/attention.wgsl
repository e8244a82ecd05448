// Attention of one head on one sequence: scores q·k / sqrt(d_head), masked keys (later
// positions for causal models, keys holding the pad token) get probability exactly 0,
// softmax (a row with every key masked yields zeros), then the pattern times the values:
//   z[row_i, head*DH + e] = Σ_j softmax_j(s_ij) v[row_j, head*DH + e]
//
// One workgroup per (sequence, head), so each sequence's keys and values are read from
// global memory once and shared through workgroup memory in blocks of KB keys. Each thread
// owns one query row at a time (rows lid, lid + WG, ...) and runs an online softmax over the
// key blocks: the running max m, normaliser l and weighted sum acc are rescaled whenever m
// grows, which is the same quantity as the two-pass softmax of the CPU reference.
//
// Workgroup size: WG threads. Workgroups on a 2-D grid (linear index = wid.x + wid.y *
// nwg.x = seq * H + head); indices past seqs * H return (uniformly, before any barrier).
// Head vectors are held as DH4 = ceil(DH/4) vec4s (zero beyond DH): on the software
// rasteriser every workgroup-memory read is a loop over SIMD lanes, so reading four floats
// per read is what makes this kernel fast there; on GPUs they are 128-bit broadcasts.
// Injected constants: H = n_heads, DH = d_head, DH4, HP = padded n_heads*d_head, KB = keys
// per block, WG, CAUSAL, HAS_PAD, PAD (the pad token id), SCALE = 1/sqrt(d_head).
//
// Bindings (group 0):
//   0 counts:  uniform vec4<u32>   (rows, seqs, targets, 0)
//   1 offsets: array<u32>        [seqs + 1]  first row of each sequence, then rows
//   2 rowinfo: array<vec2<u32>>  [rows]      (token id, position); tokens give the pad mask
//   3 qkv:     array<f32>        [rows, 3*HP] q at column 0, k at HP, v at 2*HP
//   4 z:       array<f32>        [rows, HP]   written

@group(0) @binding(0) var<uniform> counts: vec4<u32>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> rowinfo: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> qkv: array<f32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;

const LD: u32 = 3u * HP;

var<workgroup> k_blk: array<array<vec4<f32>, DH4>, KB>;
var<workgroup> v_blk: array<array<vec4<f32>, DH4>, KB>;
var<workgroup> key_ok: array<u32, KB>;

// Four consecutive floats of a head vector starting at `at`, zero past the head's end.
fn head4(at: u32, e4: u32) -> vec4<f32> {
    let e = e4 * 4u;
    var v = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
        if e + c < DH {
            v[c] = qkv[at + e + c];
        }
    }
    return v;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = wid.x + wid.y * nwg.x;
    if item >= counts.y * H {
        return;
    }
    let seq = item / H;
    let head = item % H;
    let start = offsets[seq];
    let n = offsets[seq + 1u] - start;
    let col = head * DH;

    for (var q0 = 0u; q0 < n; q0 += WG) {
        let qi = q0 + lid;
        let live = qi < n;
        var q: array<vec4<f32>, DH4>;
        var acc: array<vec4<f32>, DH4>;
        var m = -3.0e38;
        var l = 0.0;
        if live {
            let qb = (start + qi) * LD + col;
            for (var e4 = 0u; e4 < DH4; e4++) {
                q[e4] = head4(qb, e4);
            }
        }
        // Causal rows never look past their own position, so later blocks can be skipped
        // once every query of this batch is behind them.
        var key_end = n;
        if CAUSAL {
            key_end = min(n, q0 + WG);
        }
        for (var k0 = 0u; k0 < key_end; k0 += KB) {
            let nk = min(KB, key_end - k0);
            for (var t = lid; t < nk * DH4; t += WG) {
                let j = t / DH4;
                let e4 = t % DH4;
                let kb = (start + k0 + j) * LD + col;
                k_blk[j][e4] = head4(kb + HP, e4);
                v_blk[j][e4] = head4(kb + 2u * HP, e4);
            }
            for (var j = lid; j < nk; j += WG) {
                key_ok[j] = select(1u, 0u, HAS_PAD && rowinfo[start + k0 + j].x == PAD);
            }
            workgroupBarrier();
            if live {
                for (var j = 0u; j < nk; j++) {
                    let kj = k0 + j;
                    if key_ok[j] == 0u || (CAUSAL && kj > qi) {
                        continue;
                    }
                    var dot4 = vec4<f32>(0.0);
                    for (var e4 = 0u; e4 < DH4; e4++) {
                        dot4 = fma(q[e4], k_blk[j][e4], dot4);
                    }
                    let s = (dot4.x + dot4.y + dot4.z + dot4.w) * SCALE;
                    if s > m {
                        let corr = exp(m - s);
                        l = l * corr + 1.0;
                        for (var e4 = 0u; e4 < DH4; e4++) {
                            acc[e4] = fma(acc[e4], vec4<f32>(corr), v_blk[j][e4]);
                        }
                        m = s;
                    } else {
                        let p = exp(s - m);
                        l += p;
                        for (var e4 = 0u; e4 < DH4; e4++) {
                            acc[e4] = fma(vec4<f32>(p), v_blk[j][e4], acc[e4]);
                        }
                    }
                }
            }
            workgroupBarrier();
        }
        if live {
            let zb = (start + qi) * HP + col;
            // l is 0 exactly when every key was masked: the reference gives zeros then.
            let inv_l = select(0.0, 1.0 / l, l > 0.0);
            for (var e4 = 0u; e4 < DH4; e4++) {
                let v = acc[e4] * inv_l;
                for (var c = 0u; c < 4u; c++) {
                    if e4 * 4u + c < DH {
                        z[zb + e4 * 4u + c] = v[c];
                    }
                }
            }
        }
    }
}

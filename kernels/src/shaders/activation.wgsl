// The MLP nonlinearities on vec4s, shared by every kernel that applies or differentiates
// them (appended to matmul_direct.wgsl, matmul_tiled.wgsl and activation_backward.wgsl;
// WGSL lets a module call functions declared after their use). No entry point, workgroup
// or bindings of its own.
// Injected constant (by the including kernel): ACT (0 none, 1 ReLU, 2 tanh-GELU, 3 exact
// GELU, 4 SiLU).

fn activate(v: vec4<f32>) -> vec4<f32> {
    if ACT == 1u {
        return max(v, vec4<f32>(0.0));
    }
    if ACT == 2u {
        // tanh saturates long before ±15; clamping keeps drivers whose tanh is
        // (e^2x - 1)/(e^2x + 1) from producing inf/inf.
        return 0.5 * v * (1.0 + tanh(gelu_tanh_arg(v)));
    }
    if ACT == 3u {
        return v * normal_cdf(v);
    }
    if ACT == 4u {
        // SiLU; e^(−x) overflowing to inf for x < −88 gives x/inf = −0, the limit.
        return v / (1.0 + exp(-v));
    }
    return v;
}

// The tanh-GELU's tanh argument √(2/π)(x + 0.044715x³), clamped as `activate` explains.
fn gelu_tanh_arg(v: vec4<f32>) -> vec4<f32> {
    return clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), vec4<f32>(-15.0), vec4<f32>(15.0));
}

// Φ(x) = erfc(−x/√2)/2, for the exact GELU x·Φ(x). WGSL has no erf: erfc(z) for z ≥ 0 is
// Numerical Recipes' Chebyshev fit t·exp(−z² + P(t)), t = 1/(1 + z/2), fractional error
// < 1.2e-7 for every z; negative z by erfc(−z) = 2 − erfc(z). Working on |x| keeps the
// negative tail, where Φ is tiny, accurate relative to its value (no 1 + erf cancellation).
fn normal_cdf(v: vec4<f32>) -> vec4<f32> {
    let z = abs(v) * 0.7071067811865476;
    let t = 1.0 / (1.0 + 0.5 * z);
    var p = vec4<f32>(0.17087277);
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    p = p * t - 1.26551223;
    // erfc(|z|) / 2; exp of a large negative argument is 0, which is the right limit.
    let half_erfc = 0.5 * t * exp(p - z * z);
    return select(1.0 - half_erfc, half_erfc, v < vec4<f32>(0.0));
}

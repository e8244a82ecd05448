//! The MLP nonlinearities, with an exact GELU through an f64 error function.

use crate::config::ActFn;
use rayon::prelude::*;

/// The MLP nonlinearity, elementwise; large inputs are split across the rayon pool (each
/// element is computed alone, so the split changes no value).
pub fn activate(x: &mut [f32], act: ActFn) {
    if x.len() >= PARALLEL_ELEMENTS {
        x.par_chunks_mut(PARALLEL_ELEMENTS / 4)
            .for_each(|part| activate_serial(part, act));
    } else {
        activate_serial(x, act);
    }
}

/// Elements above which [`activate`] goes parallel.
const PARALLEL_ELEMENTS: usize = 1 << 16;

/// [`activate_portable`] compiled for the widest vectors the CPU has. Rust never fuses a
/// multiply and an add on its own, so every build computes the same IEEE operations and
/// the results are bit-identical whichever one runs.
fn activate_serial(x: &mut [f32], act: ActFn) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU was just checked to have the feature the build enables.
            return unsafe { activate_avx512(x, act) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { activate_avx2(x, act) };
        }
    }
    activate_portable(x, act)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn activate_avx512(x: &mut [f32], act: ActFn) {
    activate_portable(x, act)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn activate_avx2(x: &mut [f32], act: ActFn) {
    activate_portable(x, act)
}

#[inline(always)]
fn activate_portable(x: &mut [f32], act: ActFn) {
    match act {
        ActFn::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        // 0.5·x·(1 + tanh y) = x·σ(2y) = x / (1 + e^(−2y)): no cancellation for negative x.
        ActFn::GeluTanh => x.iter_mut().for_each(|v| {
            let y = GELU_TANH_C * (*v + 0.044715 * *v * *v * *v);
            *v /= 1.0 + exp_f32(-2.0 * y);
        }),
        ActFn::Gelu => x.iter_mut().for_each(|v| *v = gelu(*v as f64) as f32),
        ActFn::Silu => x.iter_mut().for_each(|v| *v /= 1.0 + exp_f32(-*v)),
    }
}

/// √(2/π), the tanh GELU's scale.
const GELU_TANH_C: f32 = 0.797_884_6;

/// e^x in f32, within 2 ulp of the true value for x in [−87, 88] (clamped outside, so
/// e^x saturates near 1.6e−38 below and 1.7e38 above instead of reaching 0 or ∞). Written
/// without branches or library calls so that a loop over a slice vectorises, which the
/// libm `expf` and `tanhf` calls did not: the MLP's activation was a tenth of a GPT-2
/// forward. Range reduction by ln 2 in two parts, then Cephes' degree-6 polynomial.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer without `round()`.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // The integer n sits in the low mantissa bits of `shifted`: no float-to-int conversion.
    let n_int = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(n_int.wrapping_add(127) << 23)
}

/// Exact GELU, x·Φ(x) = 0.5·x·erfc(−x/√2), in f64. Written with erfc so that for negative x,
/// where Φ(x) is tiny, nothing cancels: the result is within a few f64 ulps of the true value,
/// so rounding it to f32 gives the correctly rounded GELU or its neighbour.
pub fn gelu(x: f64) -> f64 {
    0.5 * x * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The error function in f64, within 2e-15 absolute of the true value (1.4e-15 measured
/// against C's `erf` on a 1e-4 grid; reference values in the tests): the Maclaurin series
/// below |z| = 2 (its terms stay below 1.3, so at most a digit cancels), 1 − erfc(|z|) from
/// the continued fraction above.
pub fn erf(z: f64) -> f64 {
    if z.is_nan() {
        return z;
    }
    let a = z.abs();
    let r = if a < ERF_SERIES_BELOW {
        erf_series(a)
    } else {
        1.0 - erfc_continued_fraction(a)
    };
    r.copysign(z)
}

/// The complementary error function 1 − erf(z) in f64, accurate relative to its value for
/// z ≥ 2 (4e-15 relative; there 1 − erf(z) would cancel) and within 2e-15 absolute below.
pub fn erfc(z: f64) -> f64 {
    if z.is_nan() {
        z
    } else if z.abs() < ERF_SERIES_BELOW {
        1.0 - erf_series(z)
    } else if z > 0.0 {
        erfc_continued_fraction(z)
    } else {
        2.0 - erfc_continued_fraction(-z)
    }
}

/// Where [`erf`] switches from the series to the continued fraction.
const ERF_SERIES_BELOW: f64 = 2.0;

/// erf(z) = 2/√π · Σ (−1)ⁿ z²ⁿ⁺¹ / (n! (2n + 1)), for |z| < 2.
fn erf_series(z: f64) -> f64 {
    let z2 = z * z;
    let mut power = z; // (−1)ⁿ z²ⁿ⁺¹ / n!
    let mut sum = z;
    for n in 1..60 {
        power *= -z2 / n as f64;
        let t = power / (2 * n + 1) as f64;
        sum += t;
        if t.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    sum * std::f64::consts::FRAC_2_SQRT_PI
}

/// erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), for z ≥ 2, evaluated
/// from a fixed depth upwards (deep enough for f64 at z = 2; it converges faster above).
fn erfc_continued_fraction(z: f64) -> f64 {
    if z > 27.0 {
        // e^(−z²) underflows f64.
        return 0.0;
    }
    let mut f = z;
    for k in (1..=ERFC_CF_DEPTH).rev() {
        f = z + (k as f64 * 0.5) / f;
    }
    (-z * z).exp() / (std::f64::consts::PI.sqrt() * f)
}

/// Terms of the erfc continued fraction.
const ERFC_CF_DEPTH: usize = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ActFn;

    /// Reference values (C's `erf`/`erfc` through Python's `math`) and the
    /// identities erf(−z) = −erf(z), erf + erfc = 1, checked around the series/fraction switch.
    #[test]
    fn erf_and_erfc_match_reference_values() {
        for (z, want) in [
            (0.0, 0.0),
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (1.5, 0.9661051464753108),
            (2.0, 0.9953222650189527),
            (2.5, 0.999_593_047_982_555),
            (3.0, 0.9999779095030014),
            (4.0, 0.9999999845827421),
        ] {
            assert!(
                (erf(z) - want).abs() < 2e-15,
                "erf({z}) = {} vs {want}",
                erf(z)
            );
            assert_eq!(erf(-z), -erf(z));
        }
        for (z, want) in [
            (3.0, 2.209049699858544e-05),
            (5.0, 1.537_459_794_428_035e-12),
            (10.0, 2.088487583762545e-45),
        ] {
            assert!(
                ((erfc(z) - want) / want).abs() < 1e-13,
                "erfc({z}) = {} vs {want}",
                erfc(z)
            );
        }
        for i in 0..=400 {
            let z = 1.9 + i as f64 * 0.0005;
            assert!((erf(z) + erfc(z) - 1.0).abs() < 4e-15, "{z}");
            assert!((erfc(-z) - (1.0 + erf(z))).abs() < 4e-15, "{z}");
        }
        assert_eq!(erf(40.0), 1.0);
        assert_eq!(erfc(40.0), 0.0);
        assert!(erf(f64::NAN).is_nan());
    }

    #[test]
    fn the_vectorisable_exp_is_within_two_ulp_and_saturates_outside_its_range() {
        let mut worst = 0.0f64;
        for i in 0..=1_750_000 {
            let x = -87.0 + i as f64 * 1e-4;
            let want = x.exp();
            let got = exp_f32(x as f32) as f64;
            // Judge against e at the f32 argument: rounding x itself is not the exp's error.
            let want_at = (x as f32 as f64).exp();
            worst = worst.max(((got - want_at) / want_at).abs());
            assert!(((got - want) / want).abs() < 1e-5, "exp({x})");
        }
        assert!(
            worst < 2.0 * f32::EPSILON as f64,
            "worst relative error {worst:e}"
        );
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(-1000.0) > 0.0 && exp_f32(-1000.0) < 2e-38);
        assert!(exp_f32(1000.0).is_finite() && exp_f32(1000.0) > 1e38);
    }

    /// The tanh GELU and SiLU against their f64 formulas, relative to the value, across the
    /// range activations take, including the negative tails where they are tiny.
    #[test]
    fn tanh_gelu_and_silu_match_their_f64_formulas() {
        let xs: Vec<f32> = (0..=40_000).map(|i| -20.0 + i as f32 * 1e-3).collect();
        for (act, f) in [
            (
                ActFn::GeluTanh,
                (|x: f64| {
                    // 0.5·x·(1 + tanh y) written as x·σ(2y), which f64 can evaluate in the tail.
                    let c = (2.0 / std::f64::consts::PI).sqrt();
                    x / (1.0 + (-2.0 * c * (x + 0.044715 * x * x * x)).exp())
                }) as fn(f64) -> f64,
            ),
            (ActFn::Silu, |x: f64| x / (1.0 + (-x).exp())),
        ] {
            let mut got = xs.clone();
            activate(&mut got, act);
            for (&x, &g) in xs.iter().zip(&got) {
                let want = f(x as f64);
                let err = (g as f64 - want).abs();
                // Rounding the exponent's argument `a` to f32 moves e^a by |a|·ε relative.
                let a = match act {
                    ActFn::GeluTanh => 2.0 * 0.8 * (x + 0.044715 * x * x * x).abs(),
                    _ => x.abs(),
                } as f64;
                assert!(
                    err <= (1e-6 + 4.0 * a * f32::EPSILON as f64) * want.abs() + 1e-30,
                    "{act:?}({x}) = {g} vs {want}"
                );
            }
        }
    }

    /// Every vector width this CPU has gives the portable build's bits.
    #[test]
    fn every_vector_build_gives_the_portable_bits() {
        let xs: Vec<f32> = (0..10_007).map(|i| -30.0 + i as f32 * 6e-3).collect();
        for act in [ActFn::Relu, ActFn::GeluTanh, ActFn::Silu, ActFn::Gelu] {
            let mut want = xs.clone();
            activate_portable(&mut want, act);
            let mut got = xs.clone();
            activate_serial(&mut got, act);
            assert_eq!(got, want, "{act:?}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut got = xs.clone();
                // SAFETY: checked above.
                unsafe { activate_avx2(&mut got, act) };
                assert_eq!(got, want, "{act:?} on AVX2");
            }
        }
    }

    /// Exact GELU against 30-digit values (mpmath), relative to the value: also far in the
    /// negative tail, where 0.5·x·(1 + erf) would cancel; in f32 it rounds correctly.
    #[test]
    fn exact_gelu_matches_high_precision_values() {
        for (x, want) in [
            (1.0f64, 0.841_344_746_068_543_f64),
            (-1.0, -0.158_655_253_931_457_05),
            (0.5, 0.345_731_230_637_006_55),
            (-3.0, -0.004_049_694_094_890_283_6),
            (-8.0, -4.976_768_459_417_427e-15),
            (6.0, 5.999_999_994_080_474),
        ] {
            assert!(
                ((gelu(x) - want) / want).abs() < 1e-13,
                "gelu({x}) = {}",
                gelu(x)
            );
        }
        assert_eq!(gelu(0.0), 0.0);
        let mut v = [2.0f32, -0.25];
        activate(&mut v, ActFn::Gelu);
        assert_eq!(v, [1.954_499_7, -0.100_323_42]);
    }
}

//! The write-up's polysemanticity toy (appendix "How causal scrubbing handles
//! polysemanticity", and "Underestimating interference"): independent sparse inputs x1, x2
//! (zero mean, unit variance: ±1/√p with probability p/2 each, else 0), target
//! y = a·x1² + b·x2², and one neuron ỹ = (c·x1 + d·x2)² + e fit by least squares.
//!
//! With K = E[x⁴] = 1/p and C = c², D = d², the expected squared error at the best e is
//! (K − 1)[(a − C)² + (b − D)²] + 4CD, minimised where (K − 1)C + 2D = (K − 1)a and
//! 2C + (K − 1)D = (K − 1)b: both C and D are positive once K > 3 (superposition). With
//! p = 1/4 and a = b = 1, c = d = √0.6.
//!
//! Rewritten as c²x1² + d²x2² + 2cd·x1x2 + e, the honest hypothesis keys each square on its
//! input and calls the interference unimportant: it recovers about the model's loss. The
//! dishonest rewrite splits the interference into halves cd·x1x2 + cd·x1x2 sampled apart,
//! which halves its variance and looks better than the model; the halves may as well be
//! sampled together, which the adversary does.

use rand::{Rng, SeedableRng};

use scrub_core::scrub::graph::NodeId;
use scrub_core::scrub::scalar::ScalarGraph;
use scrub_core::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use scrub_core::{FeatureColumn, FeatureValue};

use super::scalar_case::ScalarCase;

const N_DATA: usize = 20_000;
/// Probability that an input is non-zero; 1/p = 4 > 3 makes superposition optimal.
const P: f64 = 0.25;
const A: f64 = 1.0;
const B: f64 = 1.0;

/// The least-squares neuron: (c, d, e).
pub fn fit(a: f64, b: f64, p: f64) -> Option<(f64, f64, f64)> {
    let k1 = 1.0 / p - 1.0;
    // [[k1, 2], [2, k1]] · (C, D) = k1 · (a, b)
    let det = k1 * k1 - 4.0;
    if det <= 0.0 {
        return None;
    }
    let c2 = k1 * (k1 * a - 2.0 * b) / det;
    let d2 = k1 * (k1 * b - 2.0 * a) / det;
    (c2 > 0.0 && d2 > 0.0).then(|| (c2.sqrt(), d2.sqrt(), (a - c2) + (b - d2)))
}

fn sparse(rng: &mut impl Rng) -> f32 {
    let u: f64 = rng.random();
    let v = (1.0 / P).sqrt() as f32;
    if u < P / 2.0 {
        v
    } else if u < P {
        -v
    } else {
        0.0
    }
}

/// The rewritten model: squares, interference (whole, or as two halves), bias, output.
fn graph(x1: &[f32], x2: &[f32], (c, d, e): (f64, f64, f64), halves: bool) -> ScalarGraph {
    let (c, d, e) = (c as f32, d as f32, e as f32);
    let mut g = ScalarGraph::default();
    let i1 = g.input("x1", x1.to_vec());
    let i2 = g.input("x2", x2.to_vec());
    let t1 = g.function("c²x1²", &[&[i1]], move |p| c * c * p[0] * p[0]);
    let t2 = g.function("d²x2²", &[&[i2]], move |p| d * d * p[0] * p[0]);
    let mut terms = vec![t1, t2];
    if halves {
        for name in ["cd·x1x2 (half 1)", "cd·x1x2 (half 2)"] {
            terms.push(g.function(name, &[&[i1], &[i2]], move |p| c * d * p[0] * p[1]));
        }
    } else {
        terms.push(g.function("2cd·x1x2", &[&[i1], &[i2]], move |p| {
            2.0 * c * d * p[0] * p[1]
        }));
    }
    terms.push(g.function("e", &[], move |_| e));
    g.function("ỹ", &[&terms], |p| p[0]);
    g
}

/// The root recomputes ỹ from one child per term, each with its own rule.
fn hypothesis(g: &ScalarGraph, children: &[(&str, DatumRule)]) -> Tree {
    use scrub_core::scrub::ScrubGraph;
    let out = g.output();
    let terms = g.node(out).ports[0].terms.clone();
    let mut t = Tree::new(
        "ỹ",
        DatumRule::Reference,
        TreeBody::Recompute {
            node: out,
            ports: vec![vec![]],
        },
    );
    for (&term, (name, rule)) in terms.iter().zip(children) {
        let id = t.add(
            TreeId(0),
            format!("ỹ/{name}"),
            rule.clone(),
            TreeBody::Plain {
                terms: vec![NodeId(term.0)],
            },
        );
        t.feed(TreeId(0), 0, id, Rows::All);
    }
    t
}

/// The class of a sparse input: −1, 0 or +1.
fn class(x: f32) -> FeatureValue {
    FeatureValue(x.signum() as i64 * (x != 0.0) as i64)
}

/// The counterexample on data drawn with `seed`.
pub fn case(seed: u64) -> ScalarCase {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x9E37_79B9);
    let x1: Vec<f32> = (0..N_DATA).map(|_| sparse(&mut rng)).collect();
    let x2: Vec<f32> = (0..N_DATA).map(|_| sparse(&mut rng)).collect();
    let y: Vec<f32> = x1
        .iter()
        .zip(&x2)
        .map(|(a, b)| (A as f32) * a * a + (B as f32) * b * b)
        .collect();
    let neuron = fit(A, B, P).expect("p = 1/4 puts the optimum in superposition");
    let dishonest = graph(&x1, &x2, neuron, true);
    let honest = graph(&x1, &x2, neuron, false);
    let u = || DatumRule::Unimportant;
    let flawed = hypothesis(
        &dishonest,
        &[
            ("c²x1²", DatumRule::Agrees("x1".into())),
            ("d²x2²", DatumRule::Agrees("x2".into())),
            ("half1", DatumRule::UnimportantGroup("half1".into())),
            ("half2", DatumRule::UnimportantGroup("half2".into())),
            ("e", u()),
        ],
    );
    let truth = hypothesis(
        &honest,
        &[
            ("c²x1²", DatumRule::Agrees("x1".into())),
            ("d²x2²", DatumRule::Agrees("x2".into())),
            ("interference", u()),
            ("e", u()),
        ],
    );
    let columns = vec![
        FeatureColumn::new("x1", x1.iter().map(|&x| class(x)).collect()),
        FeatureColumn::new("x2", x2.iter().map(|&x| class(x)).collect()),
    ];
    ScalarCase {
        name: "polysemanticity",
        claim: "ỹ = c²x1² + d²x2² + cd·x1x2 + cd·x1x2 + e: each square keyed on its input, the two halves of the interference unimportant and sampled apart".into(),
        graph: dishonest,
        truth_graph: Some(honest),
        columns,
        library: vec!["x1".into(), "x2".into()],
        n_data: N_DATA,
        score: Box::new(move |r, out| {
            let err = (out[0] - y[r.index()]) as f64;
            (err * err, err.abs() < 0.5)
        }),
        flawed,
        truth: Some(truth),
        min_samples: 2,
        min_samples_reason: "a standard error needs two",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Empirical mean squared error of the neuron (c, d, e) on the case's inputs.
    fn mse(x1: &[f32], x2: &[f32], (c, d, e): (f64, f64, f64)) -> f64 {
        x1.iter()
            .zip(x2)
            .map(|(&a, &b)| {
                let (a, b) = (a as f64, b as f64);
                let y = A * a * a + B * b * b;
                let t = (c * a + d * b).powi(2) + e;
                (y - t).powi(2)
            })
            .sum::<f64>()
            / x1.len() as f64
    }

    #[test]
    fn the_fit_superposes_both_inputs_and_is_a_least_squares_optimum() {
        let (c, d, e) = fit(A, B, P).unwrap();
        assert!(c > 0.1 && d > 0.1, "superposition: c {c}, d {d}");
        // Without kurtosis (p > 1/3) the optimum keeps one input only.
        assert!(fit(1.0, 1.0, 0.5).is_none());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let n = 400_000;
        let x1: Vec<f32> = (0..n).map(|_| sparse(&mut rng)).collect();
        let x2: Vec<f32> = (0..n).map(|_| sparse(&mut rng)).collect();
        let best = mse(&x1, &x2, (c, d, e));
        for (dc, dd, de) in [
            (0.03, 0.0, 0.0),
            (-0.03, 0.0, 0.0),
            (0.0, 0.03, 0.0),
            (0.0, -0.03, 0.0),
            (0.0, 0.0, 0.03),
            (0.0, 0.0, -0.03),
            (0.03, -0.03, 0.0),
        ] {
            let other = mse(&x1, &x2, (c + dc, d + dd, e + de));
            assert!(other > best, "({dc}, {dd}, {de}): {other} <= {best}");
        }
        // Monosemantic alternatives (one input only) do worse.
        assert!(mse(&x1, &x2, (1.0, 0.0, 1.0)) > best);
    }

    #[test]
    fn both_rewrites_compute_the_unrewritten_neuron() {
        use scrub_core::scrub::ScrubGraph;
        let c = case(0);
        let honest = c.truth_graph.as_ref().unwrap();
        let data: Vec<_> = (0..50).map(scrub_core::DatumId).collect();
        let (cc, dd, ee) = fit(A, B, P).unwrap();
        let a = c
            .graph
            .plain(&data, &[NodeId(0), NodeId(1), c.graph.output()])
            .unwrap();
        let b = honest.plain(&data, &[honest.output()]).unwrap();
        for (x, y) in a.iter().zip(&b) {
            let (x1, x2) = (x[0][0] as f64, x[1][0] as f64);
            let model = ((cc * x1 + dd * x2).powi(2) + ee) as f32;
            assert!((x[2][0] - model).abs() < 1e-4, "{} vs {model}", x[2][0]);
            assert!((y[0][0] - model).abs() < 1e-4, "{} vs {model}", y[0][0]);
        }
    }
}

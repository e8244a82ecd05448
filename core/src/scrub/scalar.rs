//! Small graphs of scalar functions (the write-up's counterexamples), scrubbed by the same
//! engine as transformers. Every value is one row of width one; inputs read a per-datum
//! column, functions map their port values (each the sum of the port's terms) to a number.

use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::scrub::graph::{GraphNode, NodeId, Port, ScrubGraph};

/// A node's function of its port values.
pub type ScalarFn = Box<dyn Fn(&[f32]) -> f32 + Sync>;

enum Kind {
    /// Reads `column[datum]`.
    Input(Vec<f32>),
    Function(ScalarFn),
}

/// A graph of named scalar nodes.
#[derive(Default)]
pub struct ScalarGraph {
    nodes: Vec<GraphNode>,
    kinds: Vec<Kind>,
}

impl ScalarGraph {
    /// Adds an input node whose value on datum `d` is `values[d]`.
    pub fn input(&mut self, name: &str, values: Vec<f32>) -> NodeId {
        self.nodes.push(GraphNode {
            name: name.into(),
            ports: vec![],
            width: 1,
        });
        self.kinds.push(Kind::Input(values));
        NodeId(self.nodes.len() - 1)
    }

    /// Adds a function node; `ports[i]` lists the (earlier) nodes summed into port i.
    pub fn function(
        &mut self,
        name: &str,
        ports: &[&[NodeId]],
        f: impl Fn(&[f32]) -> f32 + Sync + 'static,
    ) -> NodeId {
        let ports = ports
            .iter()
            .enumerate()
            .map(|(i, terms)| Port {
                name: format!("in{i}"),
                terms: terms.to_vec(),
            })
            .collect();
        self.nodes.push(GraphNode {
            name: name.into(),
            ports,
            width: 1,
        });
        self.kinds.push(Kind::Function(Box::new(f)));
        NodeId(self.nodes.len() - 1)
    }

    /// Value of `node` on `datum`, computing its inputs plainly from the same datum.
    fn value(&self, node: NodeId, datum: DatumId) -> Result<f32> {
        match &self.kinds[node.0] {
            Kind::Input(col) => col.get(datum.index()).copied().ok_or_else(|| {
                ModelError::Executor(format!(
                    "datum {} is outside input `{}`",
                    datum.0, self.nodes[node.0].name
                ))
            }),
            Kind::Function(f) => {
                let mut ports = Vec::with_capacity(self.nodes[node.0].ports.len());
                for p in &self.nodes[node.0].ports {
                    let mut sum = 0.0;
                    for &t in &p.terms {
                        sum += self.value(t, datum)?;
                    }
                    ports.push(sum);
                }
                Ok(f(&ports))
            }
        }
    }
}

impl ScrubGraph for ScalarGraph {
    fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// The last node added.
    fn output(&self) -> NodeId {
        NodeId(self.nodes.len() - 1)
    }

    fn rows(&self) -> usize {
        1
    }

    fn plain(&self, data: &[DatumId], nodes: &[NodeId]) -> Result<Vec<Vec<Vec<f32>>>> {
        data.iter()
            .map(|&d| nodes.iter().map(|&n| Ok(vec![self.value(n, d)?])).collect())
            .collect()
    }

    fn recompute(&self, node: NodeId, _home: DatumId, ports: &[Vec<f32>]) -> Result<Vec<f32>> {
        match &self.kinds[node.0] {
            Kind::Function(f) => Ok(vec![f(&ports.iter().map(|p| p[0]).collect::<Vec<_>>())]),
            Kind::Input(_) => Err(ModelError::Executor(format!(
                "input `{}` cannot be recomputed",
                self.nodes[node.0].name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::Assignment;
    use crate::scrub::evaluate::evaluate;
    use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
    use crate::scrub::validate::validate;

    /// ỹ = (c·x1 + d·x2)² + e, rewritten as c²x1² + d²x2² + 2cd·x1x2 + e.
    fn graph() -> ScalarGraph {
        let (c, d, e) = (0.8f32, -0.6f32, 0.25f32);
        let mut g = ScalarGraph::default();
        let x1 = g.input("x1", vec![1.0, -2.0, 0.5, 3.0]);
        let x2 = g.input("x2", vec![0.0, 1.5, -1.0, 2.0]);
        let t1 = g.function("c2x1^2", &[&[x1]], move |p| c * c * p[0] * p[0]);
        let t2 = g.function("d2x2^2", &[&[x2]], move |p| d * d * p[0] * p[0]);
        let t3 = g.function("2cd x1x2", &[&[x1], &[x2]], move |p| {
            2.0 * c * d * p[0] * p[1]
        });
        let bias = g.function("e", &[], move |_| e);
        g.function("y", &[&[t1, t2, t3, bias]], |p| p[0]);
        g
    }

    #[test]
    fn scalar_trees_scrub_term_by_term() {
        let g = graph();
        let y = g.output();
        let terms = g.node(y).ports[0].terms.clone();
        let mut t = Tree::new(
            "y",
            DatumRule::Reference,
            TreeBody::Recompute {
                node: y,
                ports: vec![vec![]],
            },
        );
        let names = ["x1²", "x2²", "x1x2", "e"];
        for (name, &term) in names.iter().zip(&terms) {
            let c = t.add(
                TreeId(0),
                format!("y/{name}"),
                DatumRule::Unimportant,
                TreeBody::Plain { terms: vec![term] },
            );
            t.feed(TreeId(0), 0, c, Rows::All);
        }
        // The interference term recomputed from x1 and x2 on two different data.
        let mut t2 = t.clone();
        t2.nodes[3].body = TreeBody::Recompute {
            node: terms[2],
            ports: vec![vec![], vec![]],
        };
        let a = t2.add(
            TreeId(3),
            "y/x1x2/x1",
            DatumRule::Unimportant,
            TreeBody::Plain {
                terms: vec![NodeId(0)],
            },
        );
        let b = t2.add(
            TreeId(3),
            "y/x1x2/x2",
            DatumRule::Unimportant,
            TreeBody::Plain {
                terms: vec![NodeId(1)],
            },
        );
        t2.feed(TreeId(3), 0, a, Rows::All);
        t2.feed(TreeId(3), 1, b, Rows::All);
        validate(&t, &g).unwrap();
        validate(&t2, &g).unwrap();
        let (x1, x2) = ([1.0f32, -2.0, 0.5, 3.0], [0.0f32, 1.5, -1.0, 2.0]);
        let f = |a: f32, b: f32| (0.8 * a - 0.6 * b).powi(2) + 0.25;
        // One datum everywhere reproduces the function.
        for d in 0..4u32 {
            let one = Assignment {
                n_samples: 1,
                n_slots: 8,
                data: vec![DatumId(d); 8],
            };
            let out = evaluate(&g, &t2, &one).unwrap().outputs[0][0];
            assert!((out - f(x1[d as usize], x2[d as usize])).abs() < 1e-5);
        }
        // Mixed: x1² from datum 1, x2² from 2, x1x2 from x1 of datum 3 and x2 of datum 1.
        let mixed = Assignment {
            n_samples: 1,
            n_slots: 8,
            data: [0, 0, 1, 2, 0, 0, 3, 1].map(DatumId).to_vec(),
        };
        let got = evaluate(&g, &t2, &mixed).unwrap().outputs[0][0];
        let want =
            0.64 * x1[1] * x1[1] + 0.36 * x2[2] * x2[2] + 2.0 * 0.8 * -0.6 * x1[3] * x2[1] + 0.25;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}

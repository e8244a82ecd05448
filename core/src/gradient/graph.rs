//! The metric's gradient over a whole scrubbing graph on one datum: reverse accumulation
//! through the nodes' vector-Jacobian products ([`ScrubGraph::recompute_vjp`]). A node's
//! gradient is the sum of the gradients of every port that reads it; a port's gradient is
//! what an edge into it is attributed with.

use crate::error::{ModelError, Result};
use crate::feature::DatumId;
use crate::scrub::graph::ScrubGraph;

/// `∂metric/∂value` of every node and `∂metric/∂port` of every port of every node, on one
/// datum, each `[rows, width]` as the graph lays values out.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphGradients {
    /// By node index.
    pub nodes: Vec<Vec<f32>>,
    /// By node index, then port index (empty for nodes without ports).
    pub ports: Vec<Vec<Vec<f32>>>,
}

/// The sum of `values` of a port's `terms`.
pub fn port_value(values: &[Vec<f32>], terms: &[crate::scrub::graph::NodeId]) -> Vec<f32> {
    let mut sum = values[terms[0].0].clone();
    for t in &terms[1..] {
        sum.iter_mut().zip(&values[t.0]).for_each(|(a, b)| *a += b);
    }
    sum
}

/// Gradients on `datum`, whose plain node values are `values` (by node index), of a metric
/// whose gradient with respect to the output node's value is `d_output`. Errors when a node
/// cannot be differentiated or the graph's order is not topological (a rewrite's appended
/// parts).
pub fn backward(
    graph: &dyn ScrubGraph,
    datum: DatumId,
    values: &[Vec<f32>],
    d_output: &[f32],
) -> Result<GraphGradients> {
    let nodes = graph.nodes();
    if values.len() != nodes.len() {
        return Err(ModelError::Executor(format!(
            "backward needs every node's value: got {} of {}",
            values.len(),
            nodes.len()
        )));
    }
    let mut grads: Vec<Vec<f32>> = values.iter().map(|v| vec![0.0; v.len()]).collect();
    let mut ports: Vec<Vec<Vec<f32>>> = vec![Vec::new(); nodes.len()];
    let out = graph.output();
    if d_output.len() != values[out.0].len() {
        return Err(ModelError::Executor(format!(
            "the output gradient has {} values, `{}` has {}",
            d_output.len(),
            nodes[out.0].name,
            values[out.0].len()
        )));
    }
    grads[out.0].copy_from_slice(d_output);
    for i in (0..=out.0).rev() {
        let node = &nodes[i];
        if node.ports.is_empty() || grads[i].iter().all(|&g| g == 0.0) {
            ports[i] = node
                .ports
                .iter()
                .map(|p| vec![0.0; values[p.terms[0].0].len()])
                .collect();
            continue;
        }
        if let Some(late) = node.ports.iter().flat_map(|p| &p.terms).find(|t| t.0 >= i) {
            return Err(ModelError::Executor(format!(
                "cannot differentiate `{}`: its input `{}` comes after it in the graph",
                node.name, nodes[late.0].name
            )));
        }
        let inputs: Vec<Vec<f32>> = node
            .ports
            .iter()
            .map(|p| port_value(values, &p.terms))
            .collect();
        let d_ports =
            graph.recompute_vjp(crate::scrub::graph::NodeId(i), datum, &inputs, &grads[i])?;
        for (port, d) in node.ports.iter().zip(&d_ports) {
            for t in &port.terms {
                grads[t.0].iter_mut().zip(d).for_each(|(a, b)| *a += b);
            }
        }
        ports[i] = d_ports;
    }
    Ok(GraphGradients {
        nodes: grads,
        ports,
    })
}

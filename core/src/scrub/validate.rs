//! Checks that a tree is a valid treeification of its graph: paths unique, every piece a
//! child of the node it feeds, and every port of every recomputed instance receiving each of
//! its terms exactly once at every row. The last check is what makes the tree extensionally
//! equal to the model (given one datum everywhere it computes the model's output), and what
//! rejects a correspondence that is not a graph homomorphism.

use std::collections::HashMap;

use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};

/// A tree that does not fit its graph, naming the tree nodes at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TreeError {
    #[error("the tree has no nodes")]
    Empty,
    #[error("two tree nodes are both called `{0}`; each instance needs its own name")]
    DuplicatePath(String),
    #[error("the root `{root}` must compute the model's output `{output}`")]
    RootNotOutput { root: String, output: String },
    #[error("node `{node}`: {message}")]
    Node { node: String, message: String },
    #[error("node `{node}`, port `{port}`, row {row}: term `{term}` {problem}")]
    Coverage {
        node: String,
        port: String,
        row: usize,
        term: String,
        problem: String,
    },
}

/// The terms a tree node's value stands for in its parent's port.
pub fn contributed_terms(tree: &Tree, id: TreeId) -> Vec<NodeId> {
    match &tree.nodes[id.0].body {
        TreeBody::Plain { terms } => terms.clone(),
        TreeBody::Recompute { node, .. } => vec![*node],
    }
}

/// Checks `tree` against `graph`.
pub fn validate(tree: &Tree, graph: &dyn ScrubGraph) -> Result<(), TreeError> {
    let nodes = graph.nodes();
    let name = |n: NodeId| nodes[n.0].name.clone();
    if tree.nodes.is_empty() {
        return Err(TreeError::Empty);
    }
    let mut seen = HashMap::new();
    for (i, n) in tree.nodes.iter().enumerate() {
        if seen.insert(n.path.0.clone(), i).is_some() {
            return Err(TreeError::DuplicatePath(n.path.0.clone()));
        }
    }
    let root = &tree.nodes[0];
    if root.parent.is_some() || contributed_terms(tree, TreeId(0)) != vec![graph.output()] {
        return Err(TreeError::RootNotOutput {
            root: root.path.0.clone(),
            output: name(graph.output()),
        });
    }
    let mut fed_by: Vec<Option<TreeId>> = vec![None; tree.nodes.len()];
    for (i, n) in tree.nodes.iter().enumerate() {
        let err = |message: String| TreeError::Node {
            node: n.path.0.clone(),
            message,
        };
        if i > 0 {
            match n.parent {
                Some(p) if p.0 < i => {}
                Some(_) => return Err(err("its parent must be listed before it".into())),
                None => return Err(err("only the root may lack a parent".into())),
            }
        }
        if let DatumRule::SameAs(other) = n.datum {
            if other.0 >= i {
                return Err(err(format!(
                    "it is sampled together with `{}`, which must be listed before it",
                    tree.nodes.get(other.0).map_or("?", |o| o.path.0.as_str())
                )));
            }
        }
        match &n.body {
            TreeBody::Plain { terms } => {
                if terms.is_empty() {
                    return Err(err("it reads no terms".into()));
                }
                if let Some(t) = terms.iter().find(|t| t.0 >= nodes.len()) {
                    return Err(err(format!("unknown graph node #{}", t.0)));
                }
            }
            TreeBody::Recompute { node, ports } => {
                let g = &nodes[node.0];
                if g.ports.is_empty() {
                    return Err(err(format!(
                        "`{}` has no inputs, so it cannot be recomputed; read it plainly",
                        g.name
                    )));
                }
                if ports.len() != g.ports.len() {
                    return Err(err(format!(
                        "`{}` has {} ports ({}), the tree gives {}",
                        g.name,
                        g.ports.len(),
                        g.ports
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        ports.len()
                    )));
                }
                for (port, pieces) in g.ports.iter().zip(ports) {
                    for piece in pieces {
                        let c = piece.child;
                        if c.0 >= tree.nodes.len() || tree.nodes[c.0].parent != Some(TreeId(i)) {
                            return Err(err(format!(
                                "port `{}` reads `{}`, which is not a child of this node",
                                port.name,
                                tree.nodes.get(c.0).map_or("?", |o| o.path.0.as_str())
                            )));
                        }
                        fed_by[c.0] = Some(TreeId(i));
                        if let Rows::Only(rows) = &piece.rows {
                            if let Some(r) = rows.iter().find(|&&r| r >= graph.rows()) {
                                return Err(err(format!(
                                    "port `{}` takes row {r} of `{}`, but values have {} rows",
                                    port.name,
                                    tree.nodes[c.0].path,
                                    graph.rows()
                                )));
                            }
                        }
                    }
                    check_coverage(tree, graph, TreeId(i), port, pieces)?;
                }
            }
        }
    }
    if let Some((i, _)) = fed_by.iter().enumerate().skip(1).find(|(_, f)| f.is_none()) {
        return Err(TreeError::Node {
            node: tree.nodes[i].path.0.clone(),
            message: "no port of its parent reads it".into(),
        });
    }
    Ok(())
}

fn check_coverage(
    tree: &Tree,
    graph: &dyn ScrubGraph,
    id: TreeId,
    port: &crate::scrub::graph::Port,
    pieces: &[crate::scrub::tree::Piece],
) -> Result<(), TreeError> {
    let nodes = graph.nodes();
    let node_path = &tree.nodes[id.0].path.0;
    let coverage = |row: usize, term: NodeId, problem: String| TreeError::Coverage {
        node: node_path.clone(),
        port: port.name.clone(),
        row,
        term: nodes[term.0].name.clone(),
        problem,
    };
    for row in 0..graph.rows() {
        let mut count: HashMap<NodeId, Vec<&str>> = HashMap::new();
        for p in pieces.iter().filter(|p| p.rows.contains(row)) {
            for t in contributed_terms(tree, p.child) {
                count
                    .entry(t)
                    .or_default()
                    .push(&tree.nodes[p.child.0].path.0);
            }
        }
        for (&t, from) in &count {
            if !port.terms.contains(&t) {
                return Err(coverage(row, t, format!("(from `{}`) is not an input of this port: the correspondence must follow the model's graph", from[0])));
            }
            if from.len() > 1 {
                return Err(coverage(
                    row,
                    t,
                    format!("is supplied {} times (by {})", from.len(), from.join(", ")),
                ));
            }
        }
        if let Some(&t) = port.terms.iter().find(|t| !count.contains_key(t)) {
            return Err(coverage(
                row,
                t,
                "is missing; give it to an unimportant child if it does not matter".into(),
            ));
        }
    }
    Ok(())
}

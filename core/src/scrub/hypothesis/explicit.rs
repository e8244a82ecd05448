//! A built tree written back as a hypothesis: generators expanded and remainders listed,
//! so that every datum slot is a node a file can name. The adversary needs this to put
//! `same_as` on one generated node or on an implicit remainder, and to write the result.

use super::{Child, HypothesisError, HypothesisFile, Location, NodeSpec, PortMap};
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};

impl HypothesisFile {
    /// This hypothesis with its tree replaced by `tree` (built over `graph`) written out node
    /// by node, terms by their graph names; building the result gives a tree with the same
    /// nodes, paths, data and pieces (remainders may move up among their siblings).
    pub fn with_tree(
        &self,
        tree: &Tree,
        graph: &dyn ScrubGraph,
    ) -> Result<HypothesisFile, HypothesisError> {
        if tree.nodes.is_empty() {
            return Err(unwritable("the tree has no nodes".into()));
        }
        let mut children: Vec<Vec<TreeId>> = vec![Vec::new(); tree.nodes.len()];
        for (i, n) in tree.nodes.iter().enumerate().skip(1) {
            match n.parent {
                Some(p) if p.0 < i => children[p.0].push(TreeId(i)),
                _ => {
                    return Err(unwritable(format!(
                        "node `{}` does not come after its parent",
                        n.path
                    )))
                }
            }
        }
        let root = &tree.nodes[0].path.0;
        if root.contains('/') {
            return Err(unwritable(format!(
                "the root `{root}` has a `/` in its name"
            )));
        }
        let mut h = self.clone();
        h.sharing = tree.sharing;
        h.pad_mask = tree.pad_mask;
        h.root = write_node(tree, graph, &children, TreeId(0), root.clone(), None)?;
        h.origin = Default::default();
        Ok(h)
    }
}

fn unwritable(message: String) -> HypothesisError {
    HypothesisError::File {
        at: Location {
            file: String::new(),
            line: None,
            column: None,
        },
        message: format!("the tree cannot be written as a hypothesis: {message}"),
    }
}

fn write_node(
    tree: &Tree,
    graph: &dyn ScrubGraph,
    children: &[Vec<TreeId>],
    id: TreeId,
    name: String,
    rows: Option<&Rows>,
) -> Result<NodeSpec, HypothesisError> {
    let n = &tree.nodes[id.0];
    let mut spec = NodeSpec {
        name,
        rows: rows.and_then(rows_text),
        ..NodeSpec::default()
    };
    match &n.datum {
        DatumRule::Reference => spec.reference = true,
        DatumRule::Agrees(f) => spec.feature = Some(f.clone()),
        DatumRule::Unimportant => {}
        DatumRule::UnimportantGroup(g) => spec.shares = Some(g.clone()),
        DatumRule::SameAs(other) => {
            let target = tree.nodes.get(other.0).ok_or_else(|| {
                unwritable(format!("node `{}` is sampled with a missing node", n.path))
            })?;
            spec.same_as = Some(target.path.0.clone());
        }
    }
    let known = |id: NodeId| {
        graph
            .nodes()
            .get(id.0)
            .map(|g| g.name.clone())
            .ok_or_else(|| {
                unwritable(format!(
                    "node `{}` names graph node #{}, which does not exist",
                    n.path, id.0
                ))
            })
    };
    let (node, ports) = match &n.body {
        TreeBody::Plain { terms } => {
            spec.reads = terms.iter().map(|&t| known(t)).collect::<Result<_, _>>()?;
            return Ok(spec);
        }
        TreeBody::Recompute { node, ports } => (*node, ports),
    };
    spec.computes = Some(known(node)?);
    let g = graph.node(node);
    let mut by_port = PortMap::default();
    for &c in &children[id.0] {
        let child = &tree.nodes[c.0];
        let name = child
            .path
            .0
            .strip_prefix(&format!("{}/", n.path))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .ok_or_else(|| {
                unwritable(format!(
                    "node `{}` is not named `{}/` and a name",
                    child.path, n.path
                ))
            })?
            .to_string();
        let fed: Vec<(usize, &Rows)> = ports
            .iter()
            .enumerate()
            .flat_map(|(p, pieces)| {
                pieces
                    .iter()
                    .filter(move |piece| piece.child == c)
                    .map(move |piece| (p, &piece.rows))
            })
            .collect();
        let every_port = fed.len() == ports.len()
            && fed
                .iter()
                .enumerate()
                .all(|(i, (p, r))| *p == i && *r == fed[0].1);
        if every_port {
            let rows = Some(fed[0].1);
            spec.inputs.push(Child::Node(write_node(
                tree, graph, children, c, name, rows,
            )?));
        } else if let [(p, rows)] = fed[..] {
            let port = &g
                .ports
                .get(p)
                .ok_or_else(|| unwritable(format!("`{}` has no port #{p}", g.name)))?
                .name;
            let written = Child::Node(write_node(tree, graph, children, c, name, Some(rows))?);
            match by_port.0.iter_mut().find(|(k, _)| k == port) {
                Some((_, list)) => list.push(written),
                None => by_port.0.push((port.clone(), vec![written])),
            }
        } else {
            return Err(unwritable(format!(
                "node `{}` feeds {} of the {} ports of `{}` or feeds them on different rows; a \
                 file can give a child to one port or to every port alike",
                child.path,
                fed.len(),
                ports.len(),
                n.path
            )));
        }
    }
    spec.ports = by_port;
    Ok(spec)
}

/// `rows` as a file writes it: `None` for all rows, runs of three or more as ranges.
fn rows_text(rows: &Rows) -> Option<String> {
    let Rows::Only(rows) = rows else {
        return None;
    };
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j + 1 < rows.len() && rows[j + 1] == rows[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}..={}", rows[i], rows[j]));
        } else {
            parts.extend(rows[i..=j].iter().map(|r| r.to_string()));
        }
        i = j + 1;
    }
    Some(parts.join(","))
}

//! What a recomputed node's listed children give its ports: each term of a port at most
//! once per row and nothing the port does not sum (the correspondence must be a graph
//! homomorphism); what they leave out goes to added unimportant children, one per distinct
//! set of missing terms, so that under `Sharing::PerParent` all unimportant inputs of a node
//! share one datum, as in the write-up.

use super::{Builder, Feed};
use crate::scrub::graph::NodeId;
use crate::scrub::hypothesis::locate::Value;
use crate::scrub::hypothesis::names::list;
use crate::scrub::hypothesis::HypothesisError;
use crate::scrub::tree::{DatumRule, Rows, TreeBody, TreeId};
use crate::scrub::validate::contributed_terms;

impl<'h> Builder<'h> {
    /// Checks what `feeds` give each port of `id` (each term of the port at most once per
    /// row, and nothing else) and gives what is missing to added unimportant children, one
    /// per distinct set of missing terms.
    pub(super) fn complete(
        &mut self,
        id: TreeId,
        node: NodeId,
        path: &str,
        site: Option<&'h Value>,
        feeds: &[Feed<'h>],
    ) -> Result<(), HypothesisError> {
        let graph = self.graph;
        let n_rows = graph.rows();
        for (p, port) in graph.node(node).ports.iter().enumerate() {
            let mut groups: Vec<(Vec<NodeId>, Vec<usize>)> = Vec::new();
            for row in 0..n_rows {
                let mut supplied: Vec<(NodeId, &Feed)> = Vec::new();
                for f in feeds
                    .iter()
                    .filter(|f| f.ports.contains(&p) && f.rows.contains(row))
                {
                    for t in contributed_terms(&self.tree, f.child) {
                        if !port.terms.contains(&t) {
                            return Err(self.not_an_input(f, t, node, p, path));
                        }
                        if let Some((_, first)) = supplied.iter().find(|(s, _)| *s == t) {
                            return Err(self.twice(first, f, t, node, p, path));
                        }
                        supplied.push((t, f));
                    }
                }
                let missing: Vec<NodeId> = port
                    .terms
                    .iter()
                    .copied()
                    .filter(|t| supplied.iter().all(|(s, _)| s != t))
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                match groups.iter_mut().find(|(m, _)| *m == missing) {
                    Some((_, rows)) => rows.push(row),
                    None => groups.push((missing, vec![row])),
                }
            }
            for (terms, rows) in groups {
                let rows = if rows.len() == n_rows {
                    Rows::All
                } else {
                    Rows::Only(rows)
                };
                let name = (1..)
                    .map(|k| match k {
                        1 => format!("{path}/{}~rest", port.name),
                        k => format!("{path}/{}~rest{k}", port.name),
                    })
                    .find(|n| !self.paths.contains_key(n))
                    .unwrap_or_default();
                let rest = self.tree.add(
                    id,
                    name.clone(),
                    DatumRule::Unimportant,
                    TreeBody::Plain { terms },
                );
                self.paths.insert(name, rest);
                self.sites.push(site);
                self.tree.feed(id, p, rest, rows);
            }
        }
        Ok(())
    }

    fn not_an_input(
        &self,
        f: &Feed,
        term: NodeId,
        node: NodeId,
        port: usize,
        parent: &str,
    ) -> HypothesisError {
        let graph = self.graph;
        let g = graph.node(node);
        let child = &self.tree.nodes[f.child.0];
        let field = match child.body {
            TreeBody::Plain { .. } => "reads",
            TreeBody::Recompute { .. } => "computes",
        };
        let sums: Vec<String> = g.ports[port]
            .terms
            .iter()
            .map(|&t| self.names.label(graph, t))
            .collect();
        self.node_err(
            f.site,
            field,
            &child.path.0,
            format!(
                "it gives `{}` to port `{}` of `{parent}` (`{}`), which does not sum it: a \
                 hypothesis must follow the model's graph, where a node reads only terms written \
                 before it. That port sums {}",
                self.names.label(graph, term),
                g.ports[port].name,
                g.name,
                list(&sums)
            ),
        )
    }

    fn twice(
        &self,
        first: &Feed,
        second: &Feed,
        term: NodeId,
        node: NodeId,
        port: usize,
        parent: &str,
    ) -> HypothesisError {
        let graph = self.graph;
        let n = graph.rows();
        let both: Vec<usize> = (0..n)
            .filter(|&r| first.rows.contains(r) && second.rows.contains(r))
            .collect();
        let rows = if both.len() == n {
            "at every row".to_string()
        } else {
            let rs: Vec<String> = both.iter().map(|r| r.to_string()).collect();
            let s = if rs.len() == 1 { "" } else { "s" };
            format!("at row{s} {}", rs.join(", "))
        };
        let path = |f: &Feed| self.tree.nodes[f.child.0].path.0.clone();
        self.node_err(
            second.site,
            "name",
            &path(second),
            format!(
                "port `{}` of `{parent}` would get `{}` both from it and from `{}` {rows}; each \
                 term must reach each row of a port once",
                graph.node(node).ports[port].name,
                self.names.label(graph, term),
                path(first)
            ),
        )
    }
}

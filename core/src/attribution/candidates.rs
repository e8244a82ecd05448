//! What attribution patching is asked about, read off a graph's structure alone: every node
//! (a head's output, an MLP, an embedding), every residual stream a port reads (all the
//! terms written before it, whole or at one position) and every edge (one term into one
//! port of one node).

use serde::Serialize;

use super::patch::Site;
use crate::scrub::graph::{NodeId, ScrubGraph};

/// The kind of a candidate, for reports and correlations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One node's output.
    Node,
    /// A residual stream: every term a port reads.
    Stream,
    /// One term's contribution to one port.
    Edge,
}

impl Kind {
    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::Stream => "residual stream",
            Kind::Edge => "edge",
        }
    }
}

/// One thing to attribute and patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `blocks.1.attn.head.3`, `resid into blocks.1.attn.head.0 @4`, `embed -> unembed.in`.
    pub name: String,
    pub kind: Kind,
    pub site: Site,
}

/// Which candidates to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Residual streams also at each of these positions (rows), besides whole.
    pub stream_rows: Vec<usize>,
    /// Every edge as well.
    pub edges: bool,
}

/// The candidates of `graph`: nodes other than the output in graph order, then residual
/// streams (one per distinct set of terms a port reads, named by its first reader), then
/// edges.
pub fn candidates(graph: &dyn ScrubGraph, selection: &Selection) -> Vec<Candidate> {
    let nodes = graph.nodes();
    let out = graph.output();
    let mut list: Vec<Candidate> = (0..nodes.len())
        .filter(|&i| i != out.0)
        .map(|i| Candidate {
            name: nodes[i].name.clone(),
            kind: Kind::Node,
            site: Site::Nodes {
                nodes: vec![NodeId(i)],
                row: None,
            },
        })
        .collect();
    let mut streams: Vec<(&[NodeId], &str)> = Vec::new();
    for n in nodes {
        for p in &n.ports {
            // Pattern ports read one node, not a stream.
            if p.terms.len() > 1 && !streams.iter().any(|(t, _)| *t == p.terms.as_slice()) {
                streams.push((&p.terms, &n.name));
            }
        }
    }
    for (terms, reader) in &streams {
        let rows = std::iter::once(None).chain(selection.stream_rows.iter().map(|&r| Some(r)));
        for row in rows {
            list.push(Candidate {
                name: match row {
                    None => format!("resid into {reader}"),
                    Some(r) => format!("resid into {reader} @{r}"),
                },
                kind: Kind::Stream,
                site: Site::Nodes {
                    nodes: terms.to_vec(),
                    row,
                },
            });
        }
    }
    if selection.edges {
        for (i, n) in nodes.iter().enumerate() {
            for (p, port) in n.ports.iter().enumerate() {
                for t in &port.terms {
                    list.push(Candidate {
                        name: format!("{} -> {}.{}", nodes[t.0].name, n.name, port.name),
                        kind: Kind::Edge,
                        site: Site::Edge {
                            from: *t,
                            to: NodeId(i),
                            port: p,
                        },
                    });
                }
            }
        }
    }
    list
}

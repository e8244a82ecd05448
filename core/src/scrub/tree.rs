//! A treeified hypothesis: instances of graph nodes arranged as a tree, each with its own
//! datum slot. An instance either reads a sum of terms plainly on its datum (everything
//! upstream of those terms runs on that one datum) or recomputes one graph node from ports
//! assembled out of its children's values, row by row.

use serde::{Deserialize, Serialize};

use crate::sampler::{NodePath, Sharing, SlotId, SlotKind, SlotTree};
use crate::scrub::graph::{NodeId, ScrubGraph};

/// Index of a node of a [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeId(pub usize);

/// Which rows of a value a piece contributes (sequence positions for a transformer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rows {
    All,
    Only(Vec<usize>),
}

impl Rows {
    /// Whether `row` is included.
    pub fn contains(&self, row: usize) -> bool {
        match self {
            Rows::All => true,
            Rows::Only(r) => r.contains(&row),
        }
    }
}

/// Part of a port's value: a child's value on some rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub child: TreeId,
    pub rows: Rows,
}

/// How a tree node gets its value.
#[derive(Debug, Clone, PartialEq)]
pub enum TreeBody {
    /// The sum of the plain values of `terms` on this node's datum.
    Plain { terms: Vec<NodeId> },
    /// `node` recomputed from its ports; `ports[i]` lists the pieces summed into port i.
    Recompute {
        node: NodeId,
        ports: Vec<Vec<Piece>>,
    },
}

/// How a tree node's datum relates to its parent's (the root's parent is the reference).
#[derive(Debug, Clone, PartialEq)]
pub enum DatumRule {
    /// The reference datum itself.
    Reference,
    /// Drawn to agree with the parent's datum on the named feature.
    Agrees(String),
    /// Random, shared with other unimportant nodes per the tree's sharing policy.
    Unimportant,
    /// Random, shared (under per-parent sharing) only with unimportant siblings of the same
    /// group: the write-up's "unimportant inputs of x2[i]" are one group per position i.
    UnimportantGroup(String),
    /// The same datum as another node (an adversary's sampling-together constraint); that
    /// node must come earlier in the tree.
    SameAs(TreeId),
}

/// Which datum a recomputed node reads its non-port inputs from: what the graph computes
/// from the node's sequence besides its ports, such as the padding mask an attention head
/// applies to `[pad]` keys. Neither port values nor the hypothesis say which sequence that
/// is, so the choice is a setting of the hypothesis file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PadMask {
    /// The node's own datum (the one its `feature` agrees on with its parent's).
    #[default]
    Own,
    /// The datum of the node's unclaimed inputs, its first unimportant remainder
    /// ([`Tree::unclaimed_child`]), as the write-up's `run_scrub` runs everything the
    /// hypothesis does not claim on one random datum; the node's own datum where it has no
    /// remainder. The output node keeps its own datum: its only non-port input is the rows
    /// its logits are computed at, which belong to the loss (read at the reference's rows).
    Unclaimed,
}

impl PadMask {
    /// Whether this is the default, [`PadMask::Own`] (files leave the default out).
    pub fn is_default(&self) -> bool {
        *self == PadMask::Own
    }
}

/// One instance of the treeified model.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    pub path: NodePath,
    pub parent: Option<TreeId>,
    pub datum: DatumRule,
    pub body: TreeBody,
}

/// A treeified hypothesis. Node 0 is the root (the output instance); parents come before
/// their children.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub nodes: Vec<TreeNode>,
    pub sharing: Sharing,
    /// Which datum recomputed nodes read their non-port inputs (padding masks) from.
    pub pad_mask: PadMask,
}

impl Tree {
    /// A tree with just a root.
    pub fn new(root_path: impl Into<String>, datum: DatumRule, body: TreeBody) -> Self {
        Tree {
            nodes: vec![TreeNode {
                path: NodePath(root_path.into()),
                parent: None,
                datum,
                body,
            }],
            sharing: Sharing::PerParent,
            pad_mask: PadMask::Own,
        }
    }

    /// Adds a child of `parent`; connect it with [`Tree::feed`].
    pub fn add(
        &mut self,
        parent: TreeId,
        path: impl Into<String>,
        datum: DatumRule,
        body: TreeBody,
    ) -> TreeId {
        self.nodes.push(TreeNode {
            path: NodePath(path.into()),
            parent: Some(parent),
            datum,
            body,
        });
        TreeId(self.nodes.len() - 1)
    }

    /// Adds a piece of `child` on `rows` to port `port` of `node` (which must recompute).
    pub fn feed(&mut self, node: TreeId, port: usize, child: TreeId, rows: Rows) {
        match &mut self.nodes[node.0].body {
            TreeBody::Recompute { ports, .. } => ports[port].push(Piece { child, rows }),
            TreeBody::Plain { .. } => panic!(
                "feed: node {} reads plainly and has no ports",
                self.nodes[node.0].path
            ),
        }
    }

    /// The node called `path`, if any.
    pub fn find(&self, path: &str) -> Option<TreeId> {
        self.nodes.iter().position(|n| n.path.0 == path).map(TreeId)
    }

    /// The sampler's view: slot 0 is the reference, slot `i + 1` is tree node `i`.
    /// `feature_index` maps a feature name to its index in the sampler's feature list.
    pub fn slots(&self, feature_index: impl Fn(&str) -> usize) -> SlotTree {
        let mut t = SlotTree::default();
        let reference = t.add("<reference>", None, SlotKind::Reference);
        for n in &self.nodes {
            let parent = n.parent.map(Self::slot).unwrap_or(reference);
            let kind = match &n.datum {
                DatumRule::Reference => SlotKind::SameAs(reference),
                DatumRule::Agrees(f) => SlotKind::Agrees {
                    feature: feature_index(f),
                },
                DatumRule::Unimportant => SlotKind::Unimportant,
                DatumRule::UnimportantGroup(g) => SlotKind::UnimportantGroup(g.clone()),
                DatumRule::SameAs(other) => SlotKind::SameAs(Self::slot(*other)),
            };
            t.add(n.path.0.clone(), Some(parent), kind);
        }
        t
    }

    /// The sampler slot of tree node `id`.
    pub fn slot(id: TreeId) -> SlotId {
        SlotId(id.0 + 1)
    }

    /// The slot of the reference datum.
    pub fn reference_slot() -> SlotId {
        SlotId(0)
    }

    /// The first remainder child of recomputed node `id`: going through its ports in order
    /// and each port's pieces in order, the first child that reads plainly and is named
    /// `{port}~rest` or `{port}~rest{k}` for a port of the graph node it recomputes, as `build_tree` names the unimportant remainders it adds and
    /// [`HypothesisFile::with_tree`](crate::scrub::hypothesis::HypothesisFile::with_tree)
    /// writes them out. Its datum rule is not looked at: a remainder the adversary ties to
    /// another node still holds the node's unclaimed inputs. `None` for a plain node or a
    /// node whose listed children cover every port.
    pub fn unclaimed_child(&self, id: TreeId, graph: &dyn ScrubGraph) -> Option<TreeId> {
        let TreeBody::Recompute {
            node,
            ports: pieces,
        } = &self.nodes[id.0].body
        else {
            return None;
        };
        let ports = &graph.node(*node).ports;
        let prefix = format!("{}/", self.nodes[id.0].path.0);
        pieces.iter().flatten().map(|p| p.child).find(|&c| {
            let child = &self.nodes[c.0];
            let Some(name) = child.path.0.strip_prefix(&prefix) else {
                return false;
            };
            matches!(child.body, TreeBody::Plain { .. })
                && ports.iter().any(|port| {
                    name.strip_prefix(port.name.as_str())
                        .and_then(|r| r.strip_prefix("~rest"))
                        .is_some_and(|k| k.bytes().all(|b| b.is_ascii_digit()))
                })
        })
    }

    /// For every tree node, the node whose datum it reads its non-port inputs from under
    /// the tree's [`PadMask`]: itself, or under [`PadMask::Unclaimed`] a recomputed node's
    /// [`Tree::unclaimed_child`] where it has one and does not compute `graph`'s output.
    pub fn homes(&self, graph: &dyn ScrubGraph) -> Vec<TreeId> {
        (0..self.nodes.len())
            .map(|i| {
                let id = TreeId(i);
                match (&self.nodes[i].body, self.pad_mask) {
                    (TreeBody::Recompute { node, .. }, PadMask::Unclaimed)
                        if *node != graph.output() =>
                    {
                        self.unclaimed_child(id, graph).unwrap_or(id)
                    }
                    _ => id,
                }
            })
            .collect()
    }

    /// Names of the features the tree's nodes agree on, each once, in order of appearance.
    pub fn features(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in &self.nodes {
            if let DatumRule::Agrees(f) = &n.datum {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }
}

//! A treeified hypothesis: instances of graph nodes arranged as a tree, each with its own
//! datum slot. An instance either reads a sum of terms plainly on its datum (everything
//! upstream of those terms runs on that one datum) or recomputes one graph node from ports
//! assembled out of its children's values, row by row.

use crate::sampler::{NodePath, Sharing, SlotId, SlotKind, SlotTree};
use crate::scrub::graph::NodeId;

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

//! The hypothesis under construction: a tree of terms, each reading its term plainly or
//! recomputing it from inputs, each on its parent's datum or agreeing with it on a feature,
//! with the reasons it is there; and its translation into a hypothesis file.

use std::collections::{BTreeMap, BTreeSet};

use crate::scrub::hypothesis::{Child, HypothesisFile, NodeSpec};

/// Where a draft node's datum comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftDatum {
    /// Its parent's datum: it agrees with it on everything (the root: the reference).
    Parent,
    /// Drawn to agree with its parent's datum on this feature.
    Feature(String),
}

/// One node of a draft hypothesis.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftNode {
    /// The graph term (a short name such as `1.0`, `mlp0`, `emb`); unique among siblings,
    /// so also the node's name.
    pub term: String,
    pub datum: DraftDatum,
    /// `Some`: the term is recomputed from these inputs (the rest of each port is
    /// unimportant); `None`: it is read plainly on the node's datum.
    pub inputs: Option<Vec<DraftNode>>,
    /// Why the node is there and why it looks as it does, one line per decision.
    pub notes: Vec<String>,
}

impl DraftNode {
    /// `term` read plainly on its parent's datum.
    pub fn leaf(term: impl Into<String>) -> Self {
        DraftNode {
            term: term.into(),
            datum: DraftDatum::Parent,
            inputs: None,
            notes: Vec::new(),
        }
    }

    /// `term` recomputed from `inputs`, each read plainly on this node's datum.
    pub fn recomputed(term: impl Into<String>, inputs: &[String]) -> Self {
        DraftNode {
            inputs: Some(inputs.iter().map(DraftNode::leaf).collect()),
            ..DraftNode::leaf(term)
        }
    }

    /// The node at `at` (child indices from this node).
    pub fn at(&self, at: &[usize]) -> &DraftNode {
        at.iter().fold(self, |n, &i| &n.children()[i])
    }

    /// The node at `at`, mutably.
    pub fn at_mut(&mut self, at: &[usize]) -> &mut DraftNode {
        let mut n = self;
        for &i in at {
            n = &mut n.inputs.as_mut().expect("a path through recomputed nodes")[i];
        }
        n
    }

    /// The inputs, none for a plainly read node.
    pub fn children(&self) -> &[DraftNode] {
        self.inputs.as_deref().unwrap_or(&[])
    }

    /// The hypothesis path of the node at `at`: `out/mlp0/0.0`.
    pub fn path(&self, at: &[usize]) -> String {
        let mut n = self;
        let mut out = n.term.clone();
        for &i in at {
            n = &n.children()[i];
            out.push('/');
            out.push_str(&n.term);
        }
        out
    }

    /// Nodes in the tree, this one included.
    pub fn count(&self) -> usize {
        1 + self.children().iter().map(DraftNode::count).sum::<usize>()
    }

    /// Every term some node of the tree below this one reads or recomputes.
    pub fn terms_below(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for c in self.children() {
            out.insert(c.term.clone());
            out.extend(c.terms_below());
        }
        out
    }

    /// Each node's notes, joined by lines, by path (this node at `path`).
    pub fn notes_by_path(&self, path: &str, out: &mut BTreeMap<String, String>) {
        if !self.notes.is_empty() {
            out.insert(path.to_string(), self.notes.join("\n"));
        }
        for c in self.children() {
            c.notes_by_path(&format!("{path}/{}", c.term), out);
        }
    }

    /// The node as a hypothesis file writes it; `path` is its own, `parent` its parent's
    /// (`None` for the root).
    fn spec(&self, path: &str, parent: Option<&str>) -> NodeSpec {
        let mut spec = NodeSpec {
            name: self.term.clone(),
            ..NodeSpec::default()
        };
        match (&self.datum, parent) {
            (_, None) => spec.reference = true,
            (DraftDatum::Parent, Some(p)) => spec.same_as = Some(p.to_string()),
            (DraftDatum::Feature(f), Some(_)) => spec.feature = Some(f.clone()),
        }
        match &self.inputs {
            None => spec.reads = vec![self.term.clone()],
            Some(list) => {
                spec.computes = Some(self.term.clone());
                spec.inputs = list
                    .iter()
                    .map(|c| Child::Node(c.spec(&format!("{path}/{}", c.term), Some(path))))
                    .collect();
            }
        }
        spec
    }
}

/// The hypothesis file of the draft `root` about `scenario`.
pub fn to_file(
    scenario: &str,
    root: &DraftNode,
    samples: usize,
    seed: u64,
    description: String,
) -> HypothesisFile {
    let mut file = HypothesisFile::new(scenario, root.spec(&root.term, None));
    file.samples = samples;
    file.seed = seed;
    file.description = description;
    file
}

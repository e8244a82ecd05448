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

/// One input of a recomputed term: a term into every port (`port: None`, where all ports
/// sum the same terms) or into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub term: String,
    pub port: Option<String>,
}

impl Input {
    /// `term` into every port.
    pub fn all(term: impl Into<String>) -> Self {
        Input {
            term: term.into(),
            port: None,
        }
    }
}

/// The inputs `terms` of a node whose ports sum `ports` (name, terms): into every port
/// where all ports sum the same terms, else per port, in port order.
pub fn inputs_by_port(ports: &[(String, Vec<String>)]) -> Vec<Input> {
    let same = ports.windows(2).all(|w| w[0].1 == w[1].1);
    match (same, ports.first()) {
        (_, None) => Vec::new(),
        (true, Some((_, terms))) => terms.iter().map(Input::all).collect(),
        (false, _) => ports
            .iter()
            .flat_map(|(p, terms)| {
                terms.iter().map(move |t| Input {
                    term: t.clone(),
                    port: Some(p.clone()),
                })
            })
            .collect(),
    }
}

/// One node of a draft hypothesis.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftNode {
    /// Unique among siblings: the term, with `.port` where the term feeds several ports.
    pub name: String,
    /// The graph term (a short name such as `1.0`, `mlp0`, `emb`).
    pub term: String,
    /// The port it feeds (`None`: every port).
    pub port: Option<String>,
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
        DraftNode::input(&Input::all(term), false)
    }

    /// The input `i` read plainly on its parent's datum; `qualified`: named `term.port`.
    pub fn input(i: &Input, qualified: bool) -> Self {
        DraftNode {
            name: match (&i.port, qualified) {
                (Some(p), true) => format!("{}.{p}", i.term),
                _ => i.term.clone(),
            },
            term: i.term.clone(),
            port: i.port.clone(),
            datum: DraftDatum::Parent,
            inputs: None,
            notes: Vec::new(),
        }
    }

    /// Children for `inputs`, each on this node's datum: named by term, or `term.port`
    /// where a term feeds several ports.
    pub fn children_of(inputs: &[Input]) -> Vec<DraftNode> {
        inputs
            .iter()
            .map(|i| {
                let shared = inputs.iter().filter(|j| j.term == i.term).count() > 1;
                DraftNode::input(i, shared)
            })
            .collect()
    }

    /// `term` recomputed from `inputs`, each read plainly on this node's datum.
    pub fn recomputed(term: impl Into<String>, inputs: &[Input]) -> Self {
        DraftNode {
            inputs: Some(DraftNode::children_of(inputs)),
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
        let mut out = n.name.clone();
        for &i in at {
            n = &n.children()[i];
            out.push('/');
            out.push_str(&n.name);
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
            c.notes_by_path(&format!("{path}/{}", c.name), out);
        }
    }

    /// The node as a hypothesis file writes it; `path` is its own, `parent` its parent's
    /// (`None` for the root).
    fn spec(&self, path: &str, parent: Option<&str>) -> NodeSpec {
        let mut spec = NodeSpec {
            name: self.name.clone(),
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
                for c in list {
                    let child = Child::Node(c.spec(&format!("{path}/{}", c.name), Some(path)));
                    match &c.port {
                        None => spec.inputs.push(child),
                        Some(p) => match spec.ports.0.iter_mut().find(|(q, _)| q == p) {
                            Some((_, l)) => l.push(child),
                            None => spec.ports.0.push((p.clone(), vec![child])),
                        },
                    }
                }
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
    let mut file = HypothesisFile::new(scenario, root.spec(&root.name, None));
    file.samples = samples;
    file.seed = seed;
    file.description = description;
    file
}

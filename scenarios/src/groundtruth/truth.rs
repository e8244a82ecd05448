//! The true circuit of a compiled program (its true hypothesis, generated from
//! `circuit.json`: which head or MLP computes which RASP variable from which) and how a
//! discovered hypothesis compares with it: F1 on the set of heads and MLPs, and whether each
//! node's feature is the variable its component computes or partitions the data alike.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use scrub_core::discover::partition;
use scrub_core::experiment::Scenario;
use scrub_core::scrub::hypothesis::{Child, HypothesisFile, NodeSpec};

use crate::error::ScenarioError;

/// The hypothesis of each program that states its true circuit.
pub const TRUE_HYPOTHESIS: &str = "hypotheses/true.ron";

/// The true circuit: each component that computes a variable (a head, an MLP; `emb` for
/// the input) with the features its nodes agree on in the program's true hypothesis
/// (generated from `circuit.json`: what each block reads and writes).
#[derive(Debug, Clone, PartialEq)]
pub struct TrueCircuit {
    pub components: BTreeMap<String, BTreeSet<String>>,
}

impl TrueCircuit {
    /// The circuit of the program in `dir`, `None` when it has no true hypothesis.
    pub fn load(dir: &Path) -> Result<Option<TrueCircuit>, ScenarioError> {
        let path = dir.join(TRUE_HYPOTHESIS);
        if !path.is_file() {
            return Ok(None);
        }
        let file = HypothesisFile::load(&path)?;
        let mut nodes = Vec::new();
        walk(&file.root, &file.root.name, &mut nodes);
        let mut components: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (_, n) in nodes {
            // A neuron group (`mlp0#flag`) is part of its MLP.
            let term = term_of(n);
            let term = term.split('#').next().unwrap_or(&term).to_string();
            let entry = components.entry(term).or_default();
            entry.extend(n.feature.clone());
        }
        Ok(Some(TrueCircuit { components }))
    }

    /// The heads and MLPs of the circuit.
    fn blocks(&self) -> BTreeSet<String> {
        self.components
            .keys()
            .filter(|t| is_head_or_mlp(t))
            .cloned()
            .collect()
    }
}

/// One discovered node whose component computes a known variable.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureCheck {
    pub path: String,
    /// The feature it agrees on (`None`: its parent's datum).
    pub chosen: Option<String>,
    /// The features its component's nodes agree on in the true hypothesis.
    pub truth: Vec<String>,
    /// How `chosen` partitions the pool against the closest of `truth`.
    pub relation: Relation,
}

/// How a chosen feature's partition of the pool relates to a true one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same partition: the true variable or an equivalent one.
    Same,
    /// A function of the true variable that does not determine it: a weaker claim, which
    /// the scrubs found enough.
    Coarser,
    /// It determines the true variable and more (the parent's datum is the finest).
    Finer,
    /// Neither determines the other.
    Other,
}

impl Relation {
    /// `mine` against `truth`, both as [`partition`] gives them over the same pool.
    fn of(mine: &[u32], truth: &[u32]) -> Relation {
        let function = |from: &[u32], to: &[u32]| {
            let mut map: BTreeMap<u32, u32> = BTreeMap::new();
            from.iter()
                .zip(to)
                .all(|(f, t)| *map.entry(*f).or_insert(*t) == *t)
        };
        match (function(truth, mine), function(mine, truth)) {
            (true, true) => Relation::Same,
            (true, false) => Relation::Coarser,
            (false, true) => Relation::Finer,
            (false, false) => Relation::Other,
        }
    }

    /// In words, for tables.
    pub fn label(self) -> &'static str {
        match self {
            Relation::Same => "same",
            Relation::Coarser => "coarser",
            Relation::Finer => "finer",
            Relation::Other => "different",
        }
    }
}

/// A discovered hypothesis against the true circuit.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub true_components: Vec<String>,
    /// Heads and MLPs the hypothesis calls important.
    pub found_components: Vec<String>,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub features: Vec<FeatureCheck>,
}

impl Comparison {
    /// `found` (a hypothesis over `scenario`) against `truth`.
    pub fn new(
        truth: &TrueCircuit,
        found: &HypothesisFile,
        scenario: &dyn Scenario,
    ) -> Result<Comparison, ScenarioError> {
        let mut nodes = Vec::new();
        walk(&found.root, &found.root.name, &mut nodes);
        let found_set: BTreeSet<String> = nodes
            .iter()
            .map(|(_, n)| term_of(n))
            .filter(|t| is_head_or_mlp(t))
            .collect();
        let true_set = truth.blocks();
        let hit = found_set.intersection(&true_set).count() as f64;
        let precision = match found_set.is_empty() {
            true => 0.0,
            false => hit / found_set.len() as f64,
        };
        let recall = match true_set.is_empty() {
            true => 1.0,
            false => hit / true_set.len() as f64,
        };
        let f1 = match precision + recall {
            0.0 => 0.0,
            s => 2.0 * precision * recall / s,
        };
        let pool = scenario.pool();
        let of = |name: &str| -> Result<Vec<u32>, ScenarioError> {
            let c = scenario.columns(&[name.to_string()])?;
            Ok(partition(&c[0], pool))
        };
        let mut features = Vec::new();
        for (path, n) in &nodes {
            let term = term_of(n);
            let Some(truth_features) = truth.components.get(&term) else {
                continue;
            };
            // The parent's datum determines every feature of it.
            let mut relation = Relation::Finer;
            if let Some(f) = &n.feature {
                let mine = of(f)?;
                relation = Relation::Other;
                for t in truth_features {
                    relation = relation.min(Relation::of(&mine, &of(t)?));
                }
            }
            features.push(FeatureCheck {
                path: path.clone(),
                chosen: n.feature.clone(),
                truth: truth_features.iter().cloned().collect(),
                relation,
            });
        }
        Ok(Comparison {
            true_components: true_set.into_iter().collect(),
            found_components: found_set.into_iter().collect(),
            precision,
            recall,
            f1,
            features,
        })
    }

    /// How many head and MLP nodes stand in each relation to the truth (the embeddings'
    /// leaves are the input: any feature that keeps the score will do, and they are listed
    /// but not counted).
    pub fn relations(&self) -> BTreeMap<Relation, usize> {
        let mut out = BTreeMap::new();
        for f in self
            .features
            .iter()
            .filter(|f| is_head_or_mlp(last(&f.path)))
        {
            *out.entry(f.relation).or_default() += 1;
        }
        out
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = self
            .relations()
            .iter()
            .map(|(r, n)| format!("{n} {}", r.label()))
            .collect();
        format!(
            "against the true circuit: F1 {:.2} (precision {:.2}, recall {:.2}; true {}, found {}); features of heads and MLPs against the true variables: {}",
            self.f1,
            self.precision,
            self.recall,
            self.true_components.join(", "),
            self.found_components.join(", "),
            counts.join(", ")
        )
    }

    /// A markdown section.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "## Against the true circuit\n\n{}\n\n| node | chosen feature | true variable | partition of the data |\n|---|---|---|---|\n",
            self.summary()
        );
        for f in &self.features {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} |",
                f.path,
                f.chosen.as_deref().unwrap_or("(parent's datum)"),
                f.truth.join(", "),
                f.relation.label()
            );
        }
        s.push('\n');
        s
    }
}

/// The last name of a path.
fn last(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A head (`1.0`) or an MLP (`mlp2`).
fn is_head_or_mlp(term: &str) -> bool {
    let head = term
        .split_once('.')
        .is_some_and(|(l, h)| l.parse::<usize>().is_ok() && h.parse::<usize>().is_ok());
    let mlp = term
        .strip_prefix("mlp")
        .is_some_and(|l| l.parse::<usize>().is_ok());
    head || mlp
}

/// The term a node reads or recomputes (its name otherwise).
fn term_of(n: &NodeSpec) -> String {
    n.computes
        .clone()
        .or_else(|| n.reads.first().cloned())
        .unwrap_or_else(|| n.name.clone())
}

/// Every node below `n` (at `path`) with its path, depth first.
fn walk<'a>(n: &'a NodeSpec, path: &str, out: &mut Vec<(String, &'a NodeSpec)>) {
    let lists = std::iter::once(&n.inputs).chain(n.ports.0.iter().map(|(_, l)| l));
    for list in lists {
        for c in list {
            if let Child::Node(c) = c {
                let p = format!("{path}/{}", c.name);
                out.push((p.clone(), c));
                walk(c, &p, out);
            }
        }
    }
}

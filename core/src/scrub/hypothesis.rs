//! Hypothesis files: the RON form in which a person (or the adversary) writes a causal
//! scrubbing hypothesis, and its translation into a [`Tree`] over a [`ScrubGraph`].
//!
//! ```ron
//! // 1b: 1.0 and 2.0 compute the count( test, 2.1 computes the horizon test, they are ANDed
//! Hypothesis(
//!     scenario: "paren",
//!     samples: 2000,          // default 2000
//!     seed: 0,                // default 0
//!     sharing: PerParent,     // PerParent (default) | PerTerm | Global
//!     pad_mask: Own,          // Own (default): a recomputed node masks `[pad]` keys of its
//!                             // own datum | Unclaimed: of its `~rest` remainder's datum
//!     rewrites: [],           // e.g. [Predict(term: "0.0", predictor: "phi")],
//!                             // [Mask(term: "0.3", mask: "last3")],
//!                             // [Neurons(term: "mlp0", groups: {"length": "0..8",
//!                             //     "flag": "8..12,15"})]
//!     root: Node(
//!         name: "out",
//!         feature: Some("is_balanced"),
//!         computes: Some("out"),
//!         inputs: [
//!             Node(name: "1.0", feature: Some("count_open"), reads: ["1.0"]),
//!             Node(name: "2.0", feature: Some("count_open"), reads: ["2.0"]),
//!             Node(name: "2.1", feature: Some("horizon"), reads: ["2.1"]),
//!         ],
//!     ),
//! )
//! ```
//!
//! A node's path is its parent's path, `/`, and its name. Its datum agrees with its parent's
//! on `feature`, is the datum of an earlier node (`same_as: Some("path")`), is the reference
//! (`reference: true`), or is unimportant (none of these). It either `reads` terms plainly
//! or `computes` a graph node from children given in `inputs` (fed to every port) or per port
//! in `ports: { "q": [...] }`, each child on the rows its `rows` names (`"all"`, `"3"`,
//! `"1,3"`, `"2..5"`, `"2..=5"`). Rewrites split a term into derived terms a node may read
//! or compute: `Predict` and `Project` into `{term}@{by}` and `{term}~{by}`, `Mask` a head
//! by source position into `{term}@{mask}` and `{term}~{mask}`, `Neurons` an MLP by groups
//! of hidden neurons (written in the `rows` syntax over `0..d_mlp`) into `{term}#{group}`
//! per group and `{term}#rest` (the other neurons and the output bias).
//! `ForEach(var: "i", from: 1, to: 6, node: Node(...))` stands for one node per value, with
//! `{i}` replaced in every string of the template. Whatever a recomputed port still misses
//! goes to added unimportant children `{path}/{port}~rest` (`~rest2`, ... where rows miss
//! different terms). `Some(..)` may be left out around optional strings.
//!
//! [`HypothesisFile::to_ron`] writes a hypothesis back; [`HypothesisFile::with_tree`] writes
//! a built tree out node by node, so that generated nodes and remainders can be named.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use ron::extensions::Extensions;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sampler::Sharing;
use crate::scrub::graph::ScrubGraph;
use crate::scrub::rewrite::RewriteSpec;
use crate::scrub::tree::{PadMask, Tree};
use crate::text::TextError;

mod build;
mod emit;
mod explicit;
mod locate;
mod names;
mod rewrites;
pub(crate) mod rows;

pub use names::{transformer_aliases, FeatureNameError, FeatureNames, NameResolver};

/// Samples a hypothesis runs when its file does not say.
pub const DEFAULT_SAMPLES: usize = 2000;

/// A parsed hypothesis file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Hypothesis", deny_unknown_fields)]
pub struct HypothesisFile {
    /// The scenario whose model, data and features the hypothesis is about.
    pub scenario: String,
    /// What the hypothesis claims, in words; carried into files the adversary writes,
    /// where comments would be lost.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Scrubbed samples to evaluate.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed of every random stream of the sampler.
    #[serde(default)]
    pub seed: u64,
    /// How unimportant nodes share random data.
    #[serde(default)]
    pub sharing: Sharing,
    /// Which datum a recomputed node reads its non-port inputs from, such as the padding
    /// mask of a bidirectional model that masks `[pad]` keys. `Own` (the default): the
    /// node's own datum, the one its feature agrees on. `Unclaimed`: the datum of its
    /// unclaimed inputs, its first `{port}~rest` remainder (else its own), following the
    /// write-up's `run_scrub`, where everything the hypothesis does not claim about a node
    /// runs on one random datum. See [`PadMask`].
    #[serde(default, skip_serializing_if = "PadMask::is_default")]
    pub pad_mask: PadMask,
    /// Rewrites applied to the model graph before the tree is built.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<RewriteSpec>,
    /// The interpretation tree; the root stands for the model's output.
    pub root: NodeSpec,
    /// Where the hypothesis was read from, for error positions.
    #[serde(skip)]
    pub origin: Origin,
}

fn default_samples() -> usize {
    DEFAULT_SAMPLES
}

/// One node of the interpretation tree as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Node", deny_unknown_fields)]
pub struct NodeSpec {
    /// The node's name; its path is the parent's path, `/`, and this name.
    pub name: String,
    /// The feature on which this node's datum agrees with its parent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Path of an earlier node whose datum this node shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as: Option<String>,
    /// Whether this node runs on the reference datum itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reference: bool,
    /// For an unimportant node: the group of unimportant siblings it shares a random datum
    /// with under per-parent sharing (default: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<String>,
    /// Rows of the parent's port this node supplies (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<String>,
    /// Terms read plainly on this node's datum and summed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// Graph node recomputed from this node's children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computes: Option<String>,
    /// Children feeding every port of `computes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Child>,
    /// Children feeding one named port of `computes` each, in file order.
    #[serde(default, skip_serializing_if = "PortMap::is_empty")]
    pub ports: PortMap,
}

/// An entry of a children list: a node, or a generator of nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Child {
    /// One node.
    Node(NodeSpec),
    /// One node per value of a variable.
    ForEach(ForEachSpec),
}

/// `ForEach(var, from, to, node)`: `node` once for each value in `from..=to`, with `{var}`
/// replaced by the value in every string it contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "ForEach", deny_unknown_fields)]
pub struct ForEachSpec {
    /// The variable, written `{var}` in the template.
    pub var: String,
    /// First value.
    pub from: usize,
    /// Last value (inclusive).
    pub to: usize,
    /// The template: a node, or another generator.
    pub node: Box<Child>,
}

/// Children per port name, kept in the order the file lists them so that the tree (and every
/// sampler stream derived from its paths) does not depend on a map's ordering.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortMap(pub Vec<(String, Vec<Child>)>);

impl PortMap {
    /// Whether no port is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for PortMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for PortMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ports;
        impl<'de> Visitor<'de> for Ports {
            type Value = PortMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a map from port name to children, e.g. { "q": [...], "v": [...] }"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<PortMap, A::Error> {
                let mut out: Vec<(String, Vec<Child>)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Vec<Child>>()? {
                    if out.iter().any(|(o, _)| *o == k) {
                        return Err(serde::de::Error::custom(format!(
                            "port `{k}` is listed twice; put all its children in one list"
                        )));
                    }
                    out.push((k, v));
                }
                Ok(PortMap(out))
            }
        }
        d.deserialize_map(Ports)
    }
}

/// Where a hypothesis was read from. Every origin equals every other: where a hypothesis
/// came from does not change what it claims, so a file and its re-serialisation compare
/// equal.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    file: String,
    source: Option<Arc<locate::Value>>,
}

impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}

/// A position in a hypothesis file; line and column are 1-based and known for what the
/// file itself says (not for hypotheses built in code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as given to [`HypothesisFile::parse`]; empty for hypotheses built in code.
    pub file: String,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column, in characters.
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.file.is_empty() {
            "<hypothesis>"
        } else {
            &self.file
        };
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{file}:{l}:{c}"),
            _ => f.write_str(file),
        }
    }
}

/// A hypothesis file that cannot be read, parsed or built, with where and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum HypothesisError {
    /// The file could not be read.
    #[error("{file}: cannot read the hypothesis: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// Not RON, or not the hypothesis schema (an unknown field, a value of the wrong type).
    #[error("{at}: {message}")]
    Parse { at: Location, message: String },
    /// A node that does not fit the graph, the scenario or the rest of the tree.
    #[error("{at}: node `{node}`: {message}")]
    Node {
        at: Location,
        node: String,
        message: String,
    },
    /// Anything else wrong with the hypothesis as a whole.
    #[error("{at}: {message}")]
    File { at: Location, message: String },
}

impl HypothesisError {
    /// Where in the file the problem is, if it is in the file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            HypothesisError::Io { .. } => None,
            HypothesisError::Parse { at, .. }
            | HypothesisError::Node { at, .. }
            | HypothesisError::File { at, .. } => Some(at),
        }
    }
}

/// Extensions every hypothesis may use without declaring them: `Node(name: ..)` in a list
/// of children rather than `Node((name: ..))`, and optional strings without `Some(..)`.
fn read_options() -> ron::Options {
    crate::text::ron_options()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_default_extension(Extensions::IMPLICIT_SOME)
}

/// The first non-blank character at or after `line`:`column`: ron reports some errors at
/// the blanks before the offending value, and a person looks for the value.
fn next_token(text: &str, line: usize, column: usize) -> (usize, usize) {
    let (mut l, mut c) = (1, 1);
    for ch in text.chars() {
        if (l, c) >= (line, column) && !ch.is_whitespace() {
            return (l, c);
        }
        if ch == '\n' {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
    }
    (line, column)
}

impl HypothesisFile {
    /// A hypothesis about `scenario` with default samples, seed, sharing and pad mask, and
    /// no rewrites.
    pub fn new(scenario: impl Into<String>, root: NodeSpec) -> Self {
        HypothesisFile {
            scenario: scenario.into(),
            description: String::new(),
            samples: DEFAULT_SAMPLES,
            seed: 0,
            sharing: Sharing::default(),
            pad_mask: PadMask::default(),
            rewrites: Vec::new(),
            root,
            origin: Origin::default(),
        }
    }

    /// Parses `text`, read from `path` (used in error messages only); a leading byte-order
    /// mark is dropped.
    pub fn parse(text: &str, path: &Path) -> Result<Self, HypothesisError> {
        let text = crate::text::strip_bom(text);
        let file = path.display().to_string();
        let mut h: HypothesisFile = read_options().from_str(text).map_err(|e| {
            let (line, column) = next_token(text, e.span.start.line, e.span.start.col);
            HypothesisError::Parse {
                at: Location {
                    file: file.clone(),
                    line: Some(line),
                    column: Some(column),
                },
                message: crate::text::ron_message(&e.code, line),
            }
        })?;
        h.origin = Origin {
            file,
            source: locate::scan(text).map(Arc::new),
        };
        h.checked()
    }

    /// Parses the hypothesis's JSON form (what serialising it to JSON gives: the RON file's
    /// fields, `null` for `None`, enum variants as `{"Variant": ...}`); `name` is used in
    /// errors and reports.
    pub fn from_json(text: &str, name: &str) -> Result<Self, HypothesisError> {
        let mut h: HypothesisFile =
            serde_json::from_str(text).map_err(|e| HypothesisError::Parse {
                at: Location {
                    file: name.to_string(),
                    line: None,
                    column: None,
                },
                message: e.to_string(),
            })?;
        h.origin = Origin {
            file: name.to_string(),
            source: None,
        };
        h.checked()
    }

    /// The file-level checks of a parsed hypothesis.
    fn checked(self) -> Result<Self, HypothesisError> {
        let h = self;
        if h.samples == 0 {
            let at = h.origin.source.as_deref().and_then(|d| d.field("samples"));
            return Err(HypothesisError::File {
                at: h.location(at),
                message: "`samples` must be at least 1".into(),
            });
        }
        Ok(h)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, HypothesisError> {
        let file = path.display().to_string();
        let text = crate::text::read(path).map_err(|e| match e {
            TextError::Io(source) => HypothesisError::Io {
                file: file.clone(),
                source,
            },
            TextError::NotUtf8(n) => HypothesisError::Parse {
                at: Location {
                    file: file.clone(),
                    line: Some(n.line),
                    column: Some(n.column),
                },
                message: n.to_string(),
            },
        })?;
        Self::parse(&text, path)
    }

    /// The tree the hypothesis describes over `graph` (already rewritten): generators
    /// expanded, names resolved through `names`, features checked against `features`, the
    /// unimportant remainder of every recomputed port added, and the result validated.
    pub fn build_tree(
        &self,
        graph: &dyn ScrubGraph,
        names: &NameResolver,
        features: &FeatureNames,
    ) -> Result<Tree, HypothesisError> {
        build::build(self, graph, names, features)
    }

    /// The hypothesis as a readable RON file that parses back to an equal value.
    pub fn to_ron(&self) -> String {
        emit::to_ron(self, &|_| None)
    }

    /// [`HypothesisFile::to_ron`] with a comment before the file (`notes("")`) and before
    /// each node (`notes(path)`, paths as `out/1.0`) where `notes` gives one.
    pub fn to_ron_with_notes(&self, notes: &dyn Fn(&str) -> Option<String>) -> String {
        emit::to_ron(self, notes)
    }

    /// The position of `value` in this hypothesis's file, or just the file where unknown.
    fn location(&self, value: Option<&locate::Value>) -> Location {
        Location {
            file: self.origin.file.clone(),
            line: value.map(|v| v.at.line),
            column: value.map(|v| v.at.column),
        }
    }
}

#[cfg(test)]
#[path = "hypothesis_tests/mod.rs"]
mod tests;

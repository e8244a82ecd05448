//! The names a hypothesis may use for graph nodes and features, and the lists and
//! suggestions shown when it uses one that does not exist.

use crate::scrub::graph::{GraphNode, NodeId, ScrubGraph};
use crate::scrub::transformer::{Component, TransformerGraph};

/// Names listed in an error before the rest are summarised as a count.
const LISTED: usize = 40;

/// Maps the names a hypothesis uses for terms and recomputed nodes to graph nodes: a
/// scenario's aliases first, then the graph's own names. A term derived by a rewrite can be
/// named through an alias of the term it splits (`0.0@phi` for `blocks.0.attn.head.0@phi`).
#[derive(Debug, Clone, Default)]
pub struct NameResolver {
    aliases: Vec<(String, NodeId)>,
}

impl NameResolver {
    /// A resolver with `aliases` in addition to the graph's names.
    pub fn new(aliases: Vec<(String, NodeId)>) -> Self {
        NameResolver { aliases }
    }

    /// A resolver for a transformer graph, with [`transformer_aliases`].
    pub fn transformer(graph: &TransformerGraph) -> Self {
        Self::new(transformer_aliases(graph))
    }

    /// The node `name` stands for in `graph`.
    pub fn resolve(&self, graph: &dyn ScrubGraph, name: &str) -> Option<NodeId> {
        self.direct(graph, name)
            .or_else(|| graph.find(&self.spelled(graph, name)?))
    }

    /// A name or alias of a node of `graph` itself.
    fn direct(&self, graph: &dyn ScrubGraph, name: &str) -> Option<NodeId> {
        self.aliases
            .iter()
            .find(|(a, _)| a == name)
            .map(|(_, id)| *id)
            .or_else(|| graph.find(name))
    }

    /// The graph's own spelling of `name`: a node's name, or for a derived term written
    /// through an alias (`0.0@phi`, `mlp0#flag`) the name a rewrite gives it
    /// (`blocks.0.attn.head.0@phi`, `blocks.0.mlp#flag`), whether or not the graph has that
    /// term yet.
    pub(crate) fn spelled(&self, graph: &dyn ScrubGraph, name: &str) -> Option<String> {
        if let Some(id) = self.direct(graph, name) {
            return Some(graph.node(id).name.clone());
        }
        let split = name.find(['@', '~', '#'])?;
        let base = self.direct(graph, &name[..split])?;
        Some(format!("{}{}", graph.node(base).name, &name[split..]))
    }

    /// The nodes `keep` accepts, each as its graph name with its aliases, e.g.
    /// `blocks.1.attn.head.0 (1.0)`.
    pub(crate) fn describe(
        &self,
        graph: &dyn ScrubGraph,
        keep: impl Fn(&GraphNode) -> bool,
    ) -> Vec<String> {
        graph
            .nodes()
            .iter()
            .enumerate()
            .filter(|(_, n)| keep(n))
            .map(|(i, n)| {
                let aliases: Vec<&str> = self
                    .aliases
                    .iter()
                    .filter(|(a, id)| id.0 == i && *a != n.name)
                    .map(|(a, _)| a.as_str())
                    .collect();
                if aliases.is_empty() {
                    n.name.clone()
                } else {
                    format!("{} ({})", n.name, aliases.join(", "))
                }
            })
            .collect()
    }

    /// Node `id` as [`NameResolver::describe`] shows it.
    pub(crate) fn label(&self, graph: &dyn ScrubGraph, id: NodeId) -> String {
        let target = &graph.node(id).name;
        self.describe(graph, |n| n.name == *target)
            .pop()
            .unwrap_or_else(|| target.clone())
    }

    /// The accepted name closest to a misspelt `name`, if one is close.
    pub(crate) fn suggest(&self, graph: &dyn ScrubGraph, name: &str) -> Option<String> {
        closest(
            name,
            self.aliases
                .iter()
                .map(|(a, _)| a.as_str())
                .chain(graph.nodes().iter().map(|n| n.name.as_str())),
        )
    }
}

/// The short names of a transformer's nodes: `L.H` for heads, `L.H.pattern` for their
/// attention patterns, `mlpL`, `bL` for attention output biases, `emb`, `pos`, `out`, and
/// every node's own name.
pub fn transformer_aliases(graph: &TransformerGraph) -> Vec<(String, NodeId)> {
    let mut out = Vec::new();
    for (i, node) in graph.nodes().iter().enumerate() {
        let id = NodeId(i);
        let short = match graph.component(id) {
            Component::Embed => "emb".to_string(),
            Component::PosEmbed => "pos".to_string(),
            Component::Head { layer, head } => format!("{layer}.{head}"),
            Component::Pattern { layer, head } => format!("{layer}.{head}.pattern"),
            Component::AttnBias { layer } => format!("b{layer}"),
            Component::Mlp { layer } => format!("mlp{layer}"),
            Component::Output => "out".to_string(),
        };
        out.push((short, id));
        out.push((node.name.clone(), id));
    }
    out
}

/// The features a scenario defines: how each is spelt (parameterised features have one
/// canonical spelling, `horizon_at(5)`, of the many a scenario may understand) and the list
/// to show when a hypothesis names one that does not exist.
pub struct FeatureNames<'a> {
    shown: Vec<String>,
    canonical: Canonical<'a>,
}

/// A scenario's spelling of a feature name, `None` for names that are no feature.
type Canonical<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Why a feature name written in a hypothesis is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureNameError {
    /// `part` (the whole name, or one part of a join) is no feature of the scenario.
    Unknown { part: String },
    /// The name means a feature but is not spelt as the scenario spells it: the run, joins
    /// and the adversary compare names as written, so only `canonical` is accepted.
    NotCanonical { canonical: String },
}

impl<'a> FeatureNames<'a> {
    /// Features whose canonical spelling `canonical` gives for any spelling the scenario
    /// understands (`None` for names that are no feature), listed in errors as `shown`
    /// (e.g. `horizon_at(i)` once).
    pub fn new(shown: Vec<String>, canonical: impl Fn(&str) -> Option<String> + 'a) -> Self {
        FeatureNames {
            shown,
            canonical: Box::new(canonical),
        }
    }

    /// Exactly the features `names`.
    pub fn exact(names: Vec<String>) -> FeatureNames<'static> {
        let valid = names.clone();
        FeatureNames::new(names, move |f| valid.iter().find(|v| *v == f).cloned())
    }

    /// Whether `name` is a feature spelt canonically: one the scenario accepts, or a join of
    /// such written `a & b`.
    pub fn contains(&self, name: &str) -> bool {
        self.check(name).is_ok()
    }

    /// Accepts `name` when it is canonical; otherwise says which part is unknown or how to
    /// spell it. A join's parts are separated by `&` however spaced, so that `a&b` is told
    /// to be written `a & b` rather than called unknown; a part repeated adds nothing and is
    /// dropped from the spelling suggested.
    pub fn check(&self, name: &str) -> Result<(), FeatureNameError> {
        let mut parts: Vec<String> = Vec::new();
        for raw in name.split('&') {
            let part = raw.trim();
            let c = (self.canonical)(part).ok_or_else(|| FeatureNameError::Unknown {
                part: part.to_string(),
            })?;
            if !parts.contains(&c) {
                parts.push(c);
            }
        }
        let canonical = parts.join(crate::feature::JOIN_SEPARATOR);
        if canonical == name {
            Ok(())
        } else {
            Err(FeatureNameError::NotCanonical { canonical })
        }
    }

    /// The list shown for an unknown feature.
    pub fn shown(&self) -> &[String] {
        &self.shown
    }
}

/// `names` as a readable list, the tail summarised once it is long.
pub(crate) fn list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(LISTED)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        s.push_str(&format!(" and {} more", names.len() - LISTED));
    }
    s
}

/// " (did you mean `x`?)" when there is a close `x`, else nothing.
pub(crate) fn did_you_mean(suggestion: Option<String>) -> String {
    suggestion.map_or(String::new(), |s| format!(" (did you mean `{s}`?)"))
}

/// The candidate within a small edit distance of `name`, the closest first.
pub(crate) fn closest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|&(d, _)| d > 0 && d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c.to_string())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

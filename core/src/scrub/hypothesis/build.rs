//! From a parsed hypothesis to a validated tree. Nodes are placed depth first in file
//! order, so a tree's order is the order a reader sees and `same_as` can only name what
//! was written above it; after a recomputed node's listed children, its ports' remaining
//! terms go to added unimportant children.

use std::collections::HashMap;

use expand::{is_node_site, unbound_variable, Bindings};

use super::locate::Value;
use super::names::{closest, did_you_mean, list, FeatureNameError, FeatureNames, NameResolver};
use super::rows::parse_rows;
use super::{Child, HypothesisError, HypothesisFile, Location, NodeSpec};
use crate::scrub::graph::{NodeId, ScrubGraph};
use crate::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use crate::scrub::validate::{validate, TreeError};

/// Most nodes a tree may have, so that nested generators cannot exhaust memory.
pub(super) const MAX_NODES: usize = 200_000;

/// A child fed to ports of its parent.
struct Feed<'h> {
    child: TreeId,
    ports: Vec<usize>,
    rows: Rows,
    site: Option<&'h Value>,
}

struct Builder<'h> {
    h: &'h HypothesisFile,
    graph: &'h dyn ScrubGraph,
    names: &'h NameResolver,
    features: &'h FeatureNames<'h>,
    tree: Tree,
    paths: HashMap<String, TreeId>,
    /// Where each tree node is written (remainders: where their parent is).
    sites: Vec<Option<&'h Value>>,
    /// `same_as` targets not placed when their node was: later in the tree, or missing.
    pending: Vec<(TreeId, String, Option<&'h Value>)>,
}

mod coverage;
mod expand;

pub(super) fn build<'h>(
    h: &'h HypothesisFile,
    graph: &'h dyn ScrubGraph,
    names: &'h NameResolver,
    features: &'h FeatureNames<'h>,
) -> Result<Tree, HypothesisError> {
    let mut b = Builder {
        h,
        graph,
        names,
        features,
        tree: Tree {
            nodes: Vec::new(),
            sharing: h.sharing,
            pad_mask: h.pad_mask,
        },
        paths: HashMap::new(),
        sites: Vec::new(),
        pending: Vec::new(),
    };
    let site = h
        .origin
        .source
        .as_deref()
        .and_then(|d| d.field("root"))
        .filter(|v| is_node_site(v, &h.root.name, &[]));
    b.place(&h.root, site, &Vec::new(), None)?;
    b.resolve_pending()?;
    b.validate()?;
    Ok(b.tree)
}

impl<'h> Builder<'h> {
    /// Where `field` of the node at `site` is written, else the node's name, else the node.
    fn loc(&self, site: Option<&Value>, field: &str) -> Location {
        let v = site.and_then(|s| s.field(field).or_else(|| s.field("name")).or(Some(s)));
        self.h.location(v)
    }

    fn node_err(
        &self,
        site: Option<&Value>,
        field: &str,
        path: &str,
        message: String,
    ) -> HypothesisError {
        HypothesisError::Node {
            at: self.loc(site, field),
            node: path.to_string(),
            message,
        }
    }

    /// Adds the node `spec` (and, depth first, everything below it) under `parent`.
    fn place(
        &mut self,
        spec: &NodeSpec,
        site: Option<&'h Value>,
        bindings: &Bindings,
        parent: Option<(TreeId, &str)>,
    ) -> Result<TreeId, HypothesisError> {
        let path = match parent {
            None => spec.name.clone(),
            Some((_, p)) => format!("{p}/{}", spec.name),
        };
        if self.tree.nodes.len() >= MAX_NODES {
            return Err(self.node_err(
                site,
                "name",
                &path,
                format!("the hypothesis expands to more than {MAX_NODES} nodes"),
            ));
        }
        self.check_variables(spec, site, bindings, &path)?;
        if spec.name.is_empty() || spec.name.contains('/') {
            return Err(self.node_err(
                site,
                "name",
                &path,
                "a name must be non-empty and free of `/`, which separates the names of a path"
                    .into(),
            ));
        }
        if let Some(&other) = self.paths.get(&path) {
            let there = self
                .h
                .location(self.sites[other.0].and_then(|s| s.field("name").or(Some(s))));
            return Err(self.node_err(
                site,
                "name",
                &path,
                format!("another node has this path (at {there}); give siblings distinct names"),
            ));
        }
        let (datum, deferred) = self.datum(spec, site, &path)?;
        let body = self.body(spec, site, &path, parent.is_none())?;
        let computes = match &body {
            TreeBody::Recompute { node, .. } => Some(*node),
            TreeBody::Plain { .. } => None,
        };
        let id = match parent {
            None => {
                self.tree = Tree::new(path.clone(), datum, body);
                self.tree.sharing = self.h.sharing;
                self.tree.pad_mask = self.h.pad_mask;
                TreeId(0)
            }
            Some((p, _)) => self.tree.add(p, path.clone(), datum, body),
        };
        if let Some(target) = deferred {
            self.pending.push((id, target, site));
        }
        self.paths.insert(path.clone(), id);
        self.sites.push(site);
        if let Some(node) = computes {
            self.children(id, node, spec, site, bindings, &path)?;
        }
        Ok(id)
    }

    /// Rejects `{x}` left in a node's own strings: a variable no enclosing generator binds.
    fn check_variables(
        &self,
        spec: &NodeSpec,
        site: Option<&Value>,
        bindings: &Bindings,
        path: &str,
    ) -> Result<(), HypothesisError> {
        let strings = [&spec.name]
            .into_iter()
            .chain(&spec.feature)
            .chain(&spec.same_as)
            .chain(&spec.rows)
            .chain(&spec.computes)
            .chain(&spec.reads)
            .chain(spec.ports.0.iter().map(|(k, _)| k));
        for s in strings {
            if let Some(var) = unbound_variable(s) {
                let bound: Vec<String> = bindings.iter().map(|(v, _)| v.clone()).collect();
                return Err(self.node_err(
                    site,
                    "name",
                    path,
                    format!(
                        "`{{{var}}}` in `{s}` is not the variable of an enclosing ForEach ({})",
                        if bound.is_empty() {
                            "there is none".to_string()
                        } else {
                            format!("bound here: {}", list(&bound))
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The node's datum rule, and a `same_as` target to resolve once the tree is placed
    /// (one not placed yet: later in the tree, or missing, which tells the two apart).
    fn datum(
        &self,
        spec: &NodeSpec,
        site: Option<&Value>,
        path: &str,
    ) -> Result<(DatumRule, Option<String>), HypothesisError> {
        let given = [
            spec.feature.is_some(),
            spec.same_as.is_some(),
            spec.reference,
            spec.shares.is_some(),
        ];
        if given.iter().filter(|&&g| g).count() > 1 {
            return Err(self.node_err(
                site,
                "name",
                path,
                "give at most one of `feature`, `same_as`, `reference` and `shares`: each says \
                 where the node's datum comes from"
                    .into(),
            ));
        }
        Ok(if let Some(f) = &spec.feature {
            if let Err(e) = self.features.check(f) {
                return Err(self.node_err(site, "feature", path, self.feature_message(f, e)));
            }
            (DatumRule::Agrees(f.clone()), None)
        } else if let Some(target) = &spec.same_as {
            match self.paths.get(target) {
                Some(&id) => (DatumRule::SameAs(id), None),
                None => (DatumRule::Unimportant, Some(target.clone())),
            }
        } else if spec.reference {
            (DatumRule::Reference, None)
        } else if let Some(g) = &spec.shares {
            (DatumRule::UnimportantGroup(g.clone()), None)
        } else {
            (DatumRule::Unimportant, None)
        })
    }

    /// What is wrong with feature name `f`, and what to write instead.
    fn feature_message(&self, f: &str, e: FeatureNameError) -> String {
        let tuples = if f.contains('&') {
            " (tuples of features are written `a & b`, one space either side of `&`)"
        } else {
            ""
        };
        match e {
            FeatureNameError::NotCanonical { canonical } => format!(
                "feature `{f}` is not spelt as the scenario spells it; write `{canonical}`{tuples}"
            ),
            FeatureNameError::Unknown { part } => {
                let shown = self.features.shown();
                let what = if part == f {
                    format!("unknown feature `{f}`")
                } else {
                    format!("`{part}` in feature `{f}` is no feature")
                };
                format!(
                    "{what}{}{tuples}; the scenario's features are {}",
                    did_you_mean(closest(&part, shown.iter().map(String::as_str))),
                    list(shown)
                )
            }
        }
    }

    fn body(
        &self,
        spec: &NodeSpec,
        site: Option<&Value>,
        path: &str,
        is_root: bool,
    ) -> Result<TreeBody, HypothesisError> {
        let graph = self.graph;
        let body =
            match (spec.reads.is_empty(), &spec.computes) {
                (false, Some(_)) => return Err(self.node_err(
                    site,
                    "computes",
                    path,
                    "a node either `reads` terms plainly or `computes` a node from its inputs, \
                     not both"
                        .into(),
                )),
                (true, None) => return Err(self.node_err(
                    site,
                    "name",
                    path,
                    "say what the node stands for: `reads: [terms]` to read terms plainly on its \
                     datum, or `computes: Some(\"node\")` to recompute a node from its inputs"
                        .into(),
                )),
                (false, None) => {
                    if !spec.inputs.is_empty() || !spec.ports.is_empty() {
                        return Err(self.node_err(
                        site,
                        if spec.inputs.is_empty() { "ports" } else { "inputs" },
                        path,
                        "it reads its terms plainly, so it takes no inputs; to give it inputs, \
                         use `computes` instead of `reads`"
                            .into(),
                    ));
                    }
                    let mut terms: Vec<NodeId> = Vec::new();
                    for (i, t) in spec.reads.iter().enumerate() {
                        let item = site
                            .and_then(|s| s.field("reads"))
                            .and_then(|l| l.element(i));
                        let at = || self.h.location(item.or(site));
                        let Some(id) = self.names.resolve(graph, t) else {
                            return Err(HypothesisError::Node {
                                at: at(),
                                node: path.into(),
                                message: format!(
                                    "unknown term `{t}`{}; the graph's terms are {}",
                                    did_you_mean(self.names.suggest(graph, t)),
                                    list(&self.names.describe(graph, |_| true))
                                ),
                            });
                        };
                        if terms.contains(&id) {
                            return Err(HypothesisError::Node {
                                at: at(),
                                node: path.into(),
                                message: format!(
                                    "it reads `{}` twice",
                                    self.names.label(graph, id)
                                ),
                            });
                        }
                        terms.push(id);
                    }
                    TreeBody::Plain { terms }
                }
                (true, Some(c)) => {
                    let computable = || list(&self.names.describe(graph, |n| !n.ports.is_empty()));
                    let Some(node) = self.names.resolve(graph, c) else {
                        return Err(self.node_err(
                            site,
                            "computes",
                            path,
                            format!(
                                "unknown node `{c}`{}; nodes that can be recomputed are {}",
                                did_you_mean(self.names.suggest(graph, c)),
                                computable()
                            ),
                        ));
                    };
                    let n_ports = graph.node(node).ports.len();
                    if n_ports == 0 {
                        return Err(self.node_err(
                            site,
                            "computes",
                            path,
                            format!(
                                "`{c}` has no inputs to recompute it from; read it with \
                             `reads: [\"{c}\"]` (nodes that can be recomputed are {})",
                                computable()
                            ),
                        ));
                    }
                    TreeBody::Recompute {
                        node,
                        ports: vec![Vec::new(); n_ports],
                    }
                }
            };
        let output = graph.output();
        let stands_for = match &body {
            TreeBody::Plain { terms } => terms.clone(),
            TreeBody::Recompute { node, .. } => vec![*node],
        };
        if is_root && stands_for != vec![output] {
            return Err(self.node_err(
                site,
                if spec.computes.is_some() {
                    "computes"
                } else {
                    "reads"
                },
                path,
                format!(
                    "the root stands for the model's output: it must read or compute exactly `{}`",
                    self.names.label(graph, output)
                ),
            ));
        }
        if is_root && spec.rows.as_deref().is_some_and(|r| r.trim() != "all") {
            return Err(self.node_err(
                site,
                "rows",
                path,
                "the root has no parent port to supply rows of; remove `rows`".into(),
            ));
        }
        Ok(body)
    }

    /// Places the children of recomputed node `id`, feeds them, and completes its ports.
    fn children(
        &mut self,
        id: TreeId,
        node: NodeId,
        spec: &NodeSpec,
        site: Option<&'h Value>,
        bindings: &Bindings,
        path: &str,
    ) -> Result<(), HypothesisError> {
        let graph = self.graph;
        let ports = &graph.node(node).ports;
        let mut feeds = Vec::new();
        let listed = site.and_then(|s| s.field("inputs"));
        for (i, c) in spec.inputs.iter().enumerate() {
            let at = listed.and_then(|l| l.element(i));
            let all = (0..ports.len()).collect();
            self.feed(c, at, bindings, (id, path), all, &mut feeds)?;
        }
        let map = site.and_then(|s| s.field("ports"));
        for (name, children) in &spec.ports.0 {
            let Some(p) = ports.iter().position(|p| p.name == *name) else {
                let names: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();
                let at = map.and_then(|m| m.key_at(name));
                return Err(HypothesisError::Node {
                    at: match at {
                        Some(pos) => Location {
                            line: Some(pos.line),
                            column: Some(pos.column),
                            ..self.h.location(None)
                        },
                        None => self.loc(site, "ports"),
                    },
                    node: path.into(),
                    message: format!(
                        "`{}` has no port `{name}`; its ports are {}",
                        graph.node(node).name,
                        list(&names)
                    ),
                });
            };
            let listed = map.and_then(|m| m.field(name));
            for (i, c) in children.iter().enumerate() {
                let at = listed.and_then(|l| l.element(i));
                self.feed(c, at, bindings, (id, path), vec![p], &mut feeds)?;
            }
        }
        self.complete(id, node, path, site, &feeds)
    }

    /// Places every node `child` stands for and feeds each to `ports` of `parent`.
    fn feed(
        &mut self,
        child: &Child,
        site: Option<&'h Value>,
        bindings: &Bindings,
        parent: (TreeId, &str),
        ports: Vec<usize>,
        feeds: &mut Vec<Feed<'h>>,
    ) -> Result<(), HypothesisError> {
        let mut instances = Vec::new();
        self.expand(child, site, bindings, &mut instances)?;
        for inst in instances {
            let id = self.place(&inst.spec, inst.site, &inst.bindings, Some(parent))?;
            let rows = match inst.spec.rows.as_deref() {
                None => Rows::All,
                Some(text) => parse_rows(text, self.graph.rows()).map_err(|m| {
                    let path = self.tree.nodes[id.0].path.0.clone();
                    self.node_err(inst.site, "rows", &path, m)
                })?,
            };
            for &p in &ports {
                self.tree.feed(parent.0, p, id, rows.clone());
            }
            feeds.push(Feed {
                child: id,
                ports: ports.clone(),
                rows,
                site: inst.site,
            });
        }
        Ok(())
    }

    fn resolve_pending(&mut self) -> Result<(), HypothesisError> {
        let Some((id, target, site)) = self.pending.first().cloned() else {
            return Ok(());
        };
        let path = self.tree.nodes[id.0].path.0.clone();
        let message = if target == path {
            "`same_as` names the node itself".to_string()
        } else if self.paths.contains_key(&target) {
            format!(
                "`same_as` names `{target}`, which comes after it in the tree; a node can only \
                 share the datum of one written before it (put `same_as: Some(\"{path}\")` on \
                 `{target}` instead)"
            )
        } else {
            format!(
                "`same_as` names `{target}`, but no node has that path{}",
                did_you_mean(closest(&target, self.paths.keys().map(String::as_str)))
            )
        };
        Err(self.node_err(site, "same_as", &path, message))
    }

    /// The engine's own check, as a safety net behind the ones above, pointed at the file.
    fn validate(&self) -> Result<(), HypothesisError> {
        validate(&self.tree, self.graph).map_err(|e| {
            let node = match &e {
                TreeError::Empty => None,
                TreeError::DuplicatePath(p) => Some(p),
                TreeError::RootNotOutput { root, .. } => Some(root),
                TreeError::Node { node, .. } | TreeError::Coverage { node, .. } => Some(node),
            };
            let site = node
                .and_then(|n| self.tree.find(n))
                .and_then(|id| self.sites.get(id.0).copied().flatten());
            HypothesisError::File {
                at: self.loc(site, "name"),
                message: e.to_string(),
            }
        })
    }
}

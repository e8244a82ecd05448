//! Generators: `ForEach` stands for one copy of its template per value, with `{var}`
//! replaced in every string; each copy keeps the template's position for errors.

use super::{Builder, MAX_NODES};
use crate::scrub::hypothesis::locate::Value;
use crate::scrub::hypothesis::{Child, HypothesisError, NodeSpec};

/// Values of the enclosing generators' variables, outermost first.
pub(super) type Bindings = Vec<(String, String)>;

/// Most nodes one generator may stand for: more is a typo in `to`, not a hypothesis.
const MAX_EXPANSION: usize = 100_000;

/// A node as written, after its enclosing generators are expanded.
pub(super) struct Instance<'h> {
    pub spec: NodeSpec,
    pub site: Option<&'h Value>,
    pub bindings: Bindings,
}

impl<'h> Builder<'h> {
    /// The nodes `child` stands for, generators expanded, each with where it is written.
    pub(super) fn expand(
        &self,
        child: &Child,
        site: Option<&'h Value>,
        bindings: &Bindings,
        out: &mut Vec<Instance<'h>>,
    ) -> Result<(), HypothesisError> {
        match child {
            Child::Node(spec) => out.push(Instance {
                spec: spec.clone(),
                site: site.filter(|v| is_node_site(v, &spec.name, bindings)),
                bindings: bindings.clone(),
            }),
            Child::ForEach(f) => {
                let site = site.filter(|v| v.tag() == Some("ForEach"));
                let err = |field: &str, message: String| HypothesisError::File {
                    at: self.h.location(site.and_then(|s| s.field(field)).or(site)),
                    message,
                };
                if f.var.is_empty() || !f.var.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(err(
                        "var",
                        format!("ForEach variable `{}` must be a name such as `i`", f.var),
                    ));
                }
                if bindings.iter().any(|(v, _)| *v == f.var) {
                    return Err(err(
                        "var",
                        format!(
                            "ForEach variable `{}` is already the variable of an enclosing \
                             ForEach; use another name",
                            f.var
                        ),
                    ));
                }
                if f.from > f.to {
                    return Err(err(
                        "to",
                        format!(
                            "ForEach `{}` from {} to {} stands for no nodes (`to` is inclusive)",
                            f.var, f.from, f.to
                        ),
                    ));
                }
                if f.to - f.from >= MAX_EXPANSION {
                    return Err(err(
                        "to",
                        format!(
                            "ForEach `{}` from {} to {} stands for more than {MAX_EXPANSION} nodes",
                            f.var, f.from, f.to
                        ),
                    ));
                }
                let template = site.and_then(|s| s.field("node"));
                let pattern = format!("{{{}}}", f.var);
                for value in f.from..=f.to {
                    // Nested generators multiply: stop before they exhaust memory.
                    if out.len() > MAX_NODES {
                        return Err(err(
                            "to",
                            format!("the generators here stand for more than {MAX_NODES} nodes"),
                        ));
                    }
                    let value = value.to_string();
                    let mut inst = (*f.node).clone();
                    map_child(&mut inst, &|s: &mut String| {
                        *s = s.replace(&pattern, &value)
                    });
                    let mut inner = bindings.clone();
                    inner.push((f.var.clone(), value));
                    self.expand(&inst, template, &inner, out)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `v` is where a node named `name` is written (names compared after substituting
/// `bindings`), so that a hypothesis edited in code never borrows a stale position.
pub(super) fn is_node_site(v: &Value, name: &str, bindings: &[(String, String)]) -> bool {
    matches!(v.tag(), None | Some("Node"))
        && v.field("name").and_then(Value::string).is_some_and(|raw| {
            let mut s = raw.to_string();
            for (var, value) in bindings {
                s = s.replace(&format!("{{{var}}}"), value);
            }
            s == name
        })
}

/// Applies `f` to every string of a generator template.
fn map_child(c: &mut Child, f: &dyn Fn(&mut String)) {
    match c {
        Child::Node(n) => {
            f(&mut n.name);
            n.feature.iter_mut().for_each(f);
            n.same_as.iter_mut().for_each(f);
            n.shares.iter_mut().for_each(f);
            n.rows.iter_mut().for_each(f);
            n.computes.iter_mut().for_each(f);
            n.reads.iter_mut().for_each(f);
            n.inputs.iter_mut().for_each(|c| map_child(c, f));
            for (k, children) in &mut n.ports.0 {
                f(k);
                children.iter_mut().for_each(|c| map_child(c, f));
            }
        }
        Child::ForEach(e) => map_child(&mut e.node, f),
    }
}

/// The first `x` of a `{x}` in `s`, `x` a name.
pub(super) fn unbound_variable(s: &str) -> Option<&str> {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let var = &after[..close];
        if !var.is_empty() && var.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Some(var);
        }
        rest = after;
    }
    None
}

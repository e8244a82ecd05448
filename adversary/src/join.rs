//! The join of two hypotheses (the write-up's "join"): the hypothesis that permits a swap
//! exactly when both permit it. On treeified hypotheses over the same graph, nodes correspond
//! by path; a node both expand the same way stays expanded, a node either reads as one unit
//! stays one unit (the other's finer split would permit swaps the unit forbids), and datum
//! rules combine: features become tuples (`a & b`), important beats unimportant, the reference
//! and sampling-together ties are kept.
//!
//! The adversary's refinements are joins too: making an unimportant node important under a
//! feature, or refining a node's feature, is joining with the hypothesis that says only that.

use std::collections::HashMap;

use scrub_core::feature::joined_name;
use scrub_core::scrub::tree::{DatumRule, Piece, Tree, TreeBody, TreeId, TreeNode};

/// Why two hypotheses cannot be joined.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JoinError {
    #[error("the roots differ: `{first}` and `{second}`; joined hypotheses must be about the same output")]
    Roots { first: String, second: String },
    #[error("node `{path}` is split differently by the two hypotheses: {detail}; the join is defined when every node both expand is expanded the same way")]
    Structure { path: String, detail: String },
    #[error("node `{path}`: {detail}")]
    Rules { path: String, detail: String },
}

/// The rule permitting exactly the data both `a` and `b` permit for one node, relative to
/// the same parent. `SameAs` targets must already be in the joined tree's numbering.
pub fn join_rules(a: &DatumRule, b: &DatumRule) -> Result<DatumRule, String> {
    use DatumRule::*;
    Ok(match (a, b) {
        (Reference, Reference) => Reference,
        (Reference, Unimportant | UnimportantGroup(_))
        | (Unimportant | UnimportantGroup(_), Reference) => Reference,
        (Reference, other) | (other, Reference) => {
            return Err(format!(
                "one hypothesis puts it on the reference datum and the other says {}",
                describe(other)
            ))
        }
        (SameAs(x), SameAs(y)) if x == y => SameAs(*x),
        (SameAs(x), Unimportant | UnimportantGroup(_))
        | (Unimportant | UnimportantGroup(_), SameAs(x)) => SameAs(*x),
        (SameAs(_), other) | (other, SameAs(_)) => {
            return Err(format!(
                "one hypothesis ties it to another node's datum and the other says {}",
                describe(other)
            ))
        }
        (Agrees(f), Agrees(g)) => Agrees(joined_name(f, g)),
        (Agrees(f), _) | (_, Agrees(f)) => Agrees(f.clone()),
        (UnimportantGroup(g), _) | (_, UnimportantGroup(g)) => UnimportantGroup(g.clone()),
        (Unimportant, Unimportant) => Unimportant,
    })
}

fn describe(rule: &DatumRule) -> String {
    match rule {
        DatumRule::Reference => "it is the reference".into(),
        DatumRule::Agrees(f) => format!("it agrees with its parent on `{f}`"),
        DatumRule::Unimportant | DatumRule::UnimportantGroup(_) => "it is unimportant".into(),
        DatumRule::SameAs(_) => "it is tied to another node".into(),
    }
}

/// The join of `first` and `second` (trees over the same graph). Node order follows `first`;
/// the sharing policy of unimportant nodes and the pad mask policy are `first`'s.
pub fn join(first: &Tree, second: &Tree) -> Result<Tree, JoinError> {
    let (r1, r2) = (&first.nodes[0].path.0, &second.nodes[0].path.0);
    if r1 != r2 {
        return Err(JoinError::Roots {
            first: r1.clone(),
            second: r2.clone(),
        });
    }
    let by_path: HashMap<&str, TreeId> = second
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.path.0.as_str(), TreeId(i)))
        .collect();
    let mut out = Tree {
        nodes: Vec::new(),
        sharing: first.sharing,
        pad_mask: first.pad_mask,
    };
    // first's id -> joined id, for nodes kept.
    let mut kept: Vec<Option<TreeId>> = vec![None; first.nodes.len()];
    for (i, n1) in first.nodes.iter().enumerate() {
        let parent = match n1.parent {
            None => None,
            Some(p) => match kept[p.0] {
                Some(jp) if matches!(out.nodes[jp.0].body, TreeBody::Recompute { .. }) => Some(jp),
                // Under a node the join reads as one unit: everything below shares its datum.
                _ => continue,
            },
        };
        let err = |detail: String| JoinError::Structure {
            path: n1.path.0.clone(),
            detail,
        };
        let Some(&j2) = by_path.get(n1.path.0.as_str()) else {
            return Err(err("the second hypothesis has no node of that name".into()));
        };
        let n2 = &second.nodes[j2.0];
        let parent2 = n2.parent.map(|p| second.nodes[p.0].path.0.as_str());
        let parent1 = n1.parent.map(|p| first.nodes[p.0].path.0.as_str());
        if parent1 != parent2 {
            return Err(err(format!(
                "its parent is `{}` in the first and `{}` in the second",
                parent1.unwrap_or("-"),
                parent2.unwrap_or("-")
            )));
        }
        let body = join_bodies(first, second, &n1.body, &n2.body).map_err(err)?;
        if matches!(body, TreeBody::Plain { .. }) {
            check_collapsible(first, TreeId(i)).map_err(err)?;
            check_collapsible(second, j2).map_err(err)?;
        }
        let map = |rule: &DatumRule, tree: &Tree| -> Result<DatumRule, String> {
            match rule {
                DatumRule::SameAs(x) => {
                    let target = &tree.nodes[x.0].path.0;
                    out.find(target).map(DatumRule::SameAs).ok_or_else(|| {
                        format!("it is tied to `{target}`, which the join does not keep before it")
                    })
                }
                other => Ok(other.clone()),
            }
        };
        let rule = map(&n1.datum, first)
            .and_then(|a| Ok((a, map(&n2.datum, second)?)))
            .and_then(|(a, b)| match (&a, &b, parent) {
                // The root's parent is the reference, so the reference agrees with it on
                // every feature.
                (DatumRule::Reference, _, None) | (_, DatumRule::Reference, None) => {
                    Ok(DatumRule::Reference)
                }
                _ => join_rules(&a, &b),
            })
            .map_err(|detail| JoinError::Rules {
                path: n1.path.0.clone(),
                detail,
            })?;
        out.nodes.push(TreeNode {
            path: n1.path.clone(),
            parent,
            datum: rule,
            body,
        });
        kept[i] = Some(TreeId(out.nodes.len() - 1));
    }
    // Pieces still name `first`'s children: renumber them, dropping none (a recomputed
    // node's children are all kept, since it was kept as recomputed).
    for node in &mut out.nodes {
        if let TreeBody::Recompute { ports, .. } = &mut node.body {
            for piece in ports.iter_mut().flatten() {
                piece.child = kept[piece.child.0].expect("children of a kept recomputation");
            }
        }
    }
    Ok(out)
}

/// The joined body of one node: the same recomputation when both recompute it alike (pieces
/// compared by child path and rows), a plain read when either reads it as one unit.
fn join_bodies(
    first: &Tree,
    second: &Tree,
    a: &TreeBody,
    b: &TreeBody,
) -> Result<TreeBody, String> {
    match (a, b) {
        (TreeBody::Plain { terms: t1 }, TreeBody::Plain { terms: t2 }) => {
            if sorted(t1) == sorted(t2) {
                Ok(a.clone())
            } else {
                Err("the two hypotheses read different terms there".into())
            }
        }
        (TreeBody::Plain { terms }, TreeBody::Recompute { node, .. })
        | (TreeBody::Recompute { node, .. }, TreeBody::Plain { terms }) => {
            if terms.as_slice() == [*node] {
                Ok(TreeBody::Plain {
                    terms: terms.clone(),
                })
            } else {
                Err("one reads terms plainly where the other recomputes a different node".into())
            }
        }
        (
            TreeBody::Recompute {
                node: g1,
                ports: p1,
            },
            TreeBody::Recompute {
                node: g2,
                ports: p2,
            },
        ) => {
            if g1 != g2 {
                return Err("the two hypotheses recompute different graph nodes there".into());
            }
            let key = |tree: &Tree, port: &[Piece]| {
                let mut k: Vec<(String, String)> = port
                    .iter()
                    .map(|p| {
                        (
                            tree.nodes[p.child.0].path.0.clone(),
                            format!("{:?}", p.rows),
                        )
                    })
                    .collect();
                k.sort();
                k
            };
            let same = p1.len() == p2.len()
                && p1
                    .iter()
                    .zip(p2)
                    .all(|(x, y)| key(first, x) == key(second, y));
            if same {
                Ok(a.clone())
            } else {
                let children = |tree: &Tree, ports: &[Vec<Piece>]| {
                    let mut c: Vec<String> = ports
                        .iter()
                        .flatten()
                        .map(|p| tree.nodes[p.child.0].path.0.clone())
                        .collect();
                    c.sort();
                    c.dedup();
                    c
                };
                let (c1, c2) = (children(first, p1), children(second, p2));
                let only = |a: &[String], b: &[String]| {
                    let d: Vec<&String> = a.iter().filter(|x| !b.contains(x)).collect();
                    let mut s = d
                        .iter()
                        .take(4)
                        .map(|x| format!("`{x}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    if d.len() > 4 {
                        s.push_str(&format!(" and {} more", d.len() - 4));
                    }
                    s
                };
                Err(if c1 == c2 {
                    "the same children feed it on different rows or ports".to_string()
                } else {
                    format!(
                        "only the first has inputs {}; only the second has {}",
                        or_none(only(&c1, &c2)),
                        or_none(only(&c2, &c1))
                    )
                })
            }
        }
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// A subtree the join reads as one unit puts every descendant on the unit's datum, which
/// satisfies every agreement with a parent; it cannot satisfy a tie to a node outside it or
/// being the reference, so those are refused.
fn check_collapsible(tree: &Tree, top: TreeId) -> Result<(), String> {
    let inside = |mut id: TreeId| loop {
        if id == top {
            return true;
        }
        match tree.nodes[id.0].parent {
            Some(p) => id = p,
            None => return false,
        }
    };
    for (i, n) in tree.nodes.iter().enumerate() {
        if TreeId(i) == top || !inside(TreeId(i)) {
            continue;
        }
        match n.datum {
            DatumRule::Reference => {
                return Err(format!(
                    "it is read as one unit in one hypothesis, but `{}` below it is the reference in the other",
                    n.path.0
                ))
            }
            DatumRule::SameAs(x) if !inside(x) => {
                return Err(format!(
                    "it is read as one unit in one hypothesis, but `{}` below it is tied to `{}` outside it in the other",
                    n.path.0, tree.nodes[x.0].path.0
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "join_tests.rs"]
mod tests;

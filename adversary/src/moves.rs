//! Sampling-together moves: changes to a tree's datum rules that the hypothesis itself
//! permits. A node may take another node's datum (`DatumRule::SameAs`) when that datum is a
//! draw its own rule already allows: an unimportant node may take any datum, and a node that
//! agrees with its parent on feature `f` may take the datum of a sibling that agrees with the
//! same parent on the same `f`. Moves only change datum rules, so the sampler's per-node
//! streams keep every untouched slot's draws, and a move is scored on paired samples.
//!
//! Per-position splits make dozens of near-identical siblings (`a0[1]`, ..., `a0[41]`), so
//! moves are enumerated per *family* (the path with generator indices stripped, `a0[]`) and
//! per *row group* (the children of one parent that supply the same rows of it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::join::join_rules;
use scrub_core::sampler::Sharing;
use scrub_core::scrub::tree::{DatumRule, Rows, Tree, TreeBody, TreeId};
use serde::{Deserialize, Serialize};

/// A move that cannot be applied to a tree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoveError {
    #[error("move `{description}` names node `{node}`, which the tree does not have")]
    UnknownNode { description: String, node: String },
    #[error("move `{description}` ties `{follower}` to `{leader}`, which comes after it; a node can only take the datum of an earlier node")]
    NotEarlier {
        description: String,
        follower: String,
        leader: String,
    },
    #[error("move `{description}` cannot refine `{node}`: {reason}")]
    NotRefinable {
        description: String,
        node: String,
        reason: String,
    },
    #[error("move `{description}` ties `{follower}` to `{leader}`, which the hypothesis does not permit: {reason}")]
    NotPermitted {
        description: String,
        follower: String,
        leader: String,
        reason: String,
    },
}

/// One sampling-together constraint: `follower` takes `leader`'s datum.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tie {
    pub follower: String,
    pub leader: String,
}

/// What kind of sampling together a move asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MoveKind {
    /// Every child of each parent in `parent_family` on one datum per row group, as far as
    /// permitted (what turns paren 3c and 3d back into 3a).
    TieRowGroups { parent_family: String },
    /// In every row group holding both, family `second` sampled with family `first`.
    TieFamilies { first: String, second: String },
    /// Every member of `family`, across row groups, sampled together (e.g. the unimportant
    /// remainders of all positions).
    TieFamily { family: String },
    /// The unimportant members of `second` take the datum of the first unimportant member of
    /// `first`: unimportant inputs of different nodes sampled together.
    TieUnimportant { first: String, second: String },
    /// Join with a refinement: every unimportant member of `family` made important, agreeing
    /// with its parent on `feature` (`{i}` stands for the member's position index).
    MakeImportant { family: String, feature: String },
    /// Join with a refinement: every important member of `family` also agrees on `feature`.
    RefineFeature { family: String, feature: String },
}

/// One refinement of a node's rule: it must (also) agree with its parent on `feature`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Refinement {
    pub node: String,
    pub feature: String,
}

/// A permitted transformation of a tree: a set of ties, with a readable description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    pub description: String,
    #[serde(flatten)]
    pub kind: MoveKind,
    /// The ties, by node path, in tree order of the followers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ties: Vec<Tie>,
    /// The refinements, by node path (applied after the ties).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refinements: Vec<Refinement>,
}

impl Move {
    /// The tree with every tie applied; fails with a clear message when a tie names a node
    /// the tree lacks or one the hypothesis does not permit.
    pub fn apply(&self, tree: &Tree) -> Result<Tree, MoveError> {
        let mut out = tree.clone();
        for t in &self.ties {
            let find = |p: &str| {
                tree.find(p).ok_or_else(|| MoveError::UnknownNode {
                    description: self.description.clone(),
                    node: p.to_string(),
                })
            };
            let (f, l) = (find(&t.follower)?, find(&t.leader)?);
            if l >= f {
                return Err(MoveError::NotEarlier {
                    description: self.description.clone(),
                    follower: t.follower.clone(),
                    leader: t.leader.clone(),
                });
            }
            if let Err(reason) = permitted(tree, f, l) {
                return Err(MoveError::NotPermitted {
                    description: self.description.clone(),
                    follower: t.follower.clone(),
                    leader: t.leader.clone(),
                    reason,
                });
            }
            out.nodes[f.0].datum = DatumRule::SameAs(l);
        }
        for r in &self.refinements {
            let id = out.find(&r.node).ok_or_else(|| MoveError::UnknownNode {
                description: self.description.clone(),
                node: r.node.clone(),
            })?;
            let rule = &out.nodes[id.0].datum;
            let refused = |reason: &str| MoveError::NotRefinable {
                description: self.description.clone(),
                node: r.node.clone(),
                reason: reason.into(),
            };
            if matches!(rule, DatumRule::Reference | DatumRule::SameAs(_)) {
                return Err(refused(
                    "its datum is fixed (the reference, or tied to another node)",
                ));
            }
            // One rule for joining, whether two hypotheses or a hypothesis and a refinement.
            out.nodes[id.0].datum =
                join_rules(rule, &DatumRule::Agrees(r.feature.clone())).map_err(|e| refused(&e))?;
        }
        Ok(out)
    }
}

/// The family of a node path: the path with the digits inside brackets removed, so the
/// per-position instances `out/2.1/a0[3]` and `out/2.1/a0[17]` are both `out/2.1/a0[]`.
pub fn family(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 0 && (c.is_ascii_digit() || c == ',') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Whether `follower` may take `leader`'s datum under the hypothesis `tree` states: `Ok`, or
/// why not.
pub fn permitted(tree: &Tree, follower: TreeId, leader: TreeId) -> Result<(), String> {
    if leader >= follower {
        return Err("the leader must come earlier in the tree".into());
    }
    match class(tree, follower) {
        Class::Unimportant => Ok(()),
        Class::Important { parent, feature } => match class(tree, leader) {
            Class::Important {
                parent: p,
                feature: f,
            } if p == parent && f == feature => Ok(()),
            _ => Err(format!(
                "the follower agrees with its parent on `{feature}`, and the leader's datum is not drawn to agree with the same parent on it"
            )),
        },
        Class::Fixed => Err("the follower's datum is already fixed (reference or tied)".into()),
    }
}

/// What draws a node's rule permits, after following `SameAs` chains.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class<'t> {
    /// Any datum.
    Unimportant,
    /// A datum agreeing with `parent`'s on `feature`.
    Important { parent: TreeId, feature: &'t str },
    /// The reference, or a node already tied to another: not moved again.
    Fixed,
}

fn class(tree: &Tree, id: TreeId) -> Class<'_> {
    let n = &tree.nodes[id.0];
    match &n.datum {
        DatumRule::Unimportant | DatumRule::UnimportantGroup(_) => Class::Unimportant,
        DatumRule::Agrees(f) => match n.parent {
            Some(parent) => Class::Important {
                parent,
                feature: f.as_str(),
            },
            None => Class::Fixed,
        },
        DatumRule::Reference | DatumRule::SameAs(_) => Class::Fixed,
    }
}

/// A key equal for two nodes exactly when the sampler always gives them the same datum
/// (as far as the rules say): ties between such nodes are no-ops.
fn datum_key(tree: &Tree, id: TreeId) -> String {
    let mut r = id;
    while let DatumRule::SameAs(o) = tree.nodes[r.0].datum {
        if o >= r {
            break; // invalid chain; validation reports it, here it is just its own key
        }
        r = o;
    }
    let n = &tree.nodes[r.0];
    let parent = n.parent.map_or(usize::MAX, |p| p.0);
    match (&n.datum, tree.sharing) {
        (DatumRule::Unimportant, Sharing::PerParent) => format!("u/{parent}"),
        (DatumRule::UnimportantGroup(g), Sharing::PerParent) => format!("u/{parent}/{g}"),
        (DatumRule::Unimportant | DatumRule::UnimportantGroup(_), Sharing::Global) => "u".into(),
        (DatumRule::Reference, _) => "ref".into(),
        _ => format!("n/{}", r.0),
    }
}

/// The children of one parent that supply the same rows of it.
#[derive(Debug, Clone)]
struct RowGroup {
    parent: TreeId,
    members: Vec<TreeId>,
}

/// The rows a child supplies, over all ports of its parent: `None` for every row.
fn supplied_rows(tree: &Tree, parent: TreeId, child: TreeId) -> Option<Vec<usize>> {
    let mut rows = BTreeSet::new();
    if let TreeBody::Recompute { ports, .. } = &tree.nodes[parent.0].body {
        for piece in ports.iter().flatten().filter(|p| p.child == child) {
            match &piece.rows {
                Rows::All => return None,
                Rows::Only(r) => rows.extend(r.iter().copied()),
            }
        }
    }
    Some(rows.into_iter().collect())
}

fn row_groups(tree: &Tree) -> Vec<RowGroup> {
    let mut groups: BTreeMap<(TreeId, Option<Vec<usize>>), Vec<TreeId>> = BTreeMap::new();
    for (i, n) in tree.nodes.iter().enumerate() {
        if let Some(p) = n.parent {
            let key = (p, supplied_rows(tree, p, TreeId(i)));
            groups.entry(key).or_default().push(TreeId(i));
        }
    }
    groups
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|((parent, _), members)| RowGroup { parent, members })
        .collect()
}

/// Ties putting `members` (in tree order) on as few data as permitted: an important node
/// follows the first earlier member agreeing with the same parent on the same feature; an
/// unimportant node follows the first earlier important member, else the first earlier one.
/// No-op ties (already the same datum) are left out.
fn tie_set(tree: &Tree, members: &[TreeId]) -> Vec<(TreeId, TreeId)> {
    let mut sorted = members.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut ties = Vec::new();
    for (k, &m) in sorted.iter().enumerate() {
        let earlier = &sorted[..k];
        let leader = match class(tree, m) {
            Class::Fixed => None,
            Class::Important { .. } => earlier
                .iter()
                .copied()
                .find(|&e| class(tree, e) == class(tree, m)),
            Class::Unimportant => earlier
                .iter()
                .copied()
                .find(|&e| matches!(class(tree, e), Class::Important { .. }))
                .or_else(|| earlier.first().copied()),
        };
        if let Some(l) = leader {
            if datum_key(tree, l) != datum_key(tree, m) && permitted(tree, m, l).is_ok() {
                ties.push((m, l));
            }
        }
    }
    ties
}

/// A move before deduplication: kind, description, ties as (follower, leader).
type Candidate = (MoveKind, String, Vec<(TreeId, TreeId)>);

/// Every sampling-together move the hypothesis `tree` permits, deduplicated (two moves making the same
/// ties count once, the first kept) and without no-ops.
pub fn enumerate_ties(tree: &Tree) -> Vec<Move> {
    let groups = row_groups(tree);
    let fam: Vec<String> = tree.nodes.iter().map(|n| family(&n.path.0)).collect();
    // Families in order of first appearance, so descriptions and ties are stable.
    let mut order: Vec<String> = Vec::new();
    for f in &fam {
        if !order.contains(f) {
            order.push(f.clone());
        }
    }
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let mut candidates: Vec<Candidate> = Vec::new();

    // (1) Every row group of a parent family tied together.
    let mut parent_families: Vec<&str> = groups.iter().map(|g| fam[g.parent.0].as_str()).collect();
    parent_families.sort_by_key(|f| rank[f]);
    parent_families.dedup();
    for pf in parent_families {
        let ties: Vec<_> = groups
            .iter()
            .filter(|g| fam[g.parent.0] == pf)
            .flat_map(|g| tie_set(tree, &g.members))
            .collect();
        candidates.push((
            MoveKind::TieRowGroups {
                parent_family: pf.to_string(),
            },
            format!("sample every row group of the children of `{pf}` together"),
            ties,
        ));
    }

    // (2) Two families sampled together wherever they supply the same rows of one parent.
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for g in &groups {
        let fs: BTreeSet<usize> = g.members.iter().map(|m| rank[fam[m.0].as_str()]).collect();
        for &a in &fs {
            for &b in fs.range(a + 1..) {
                pairs.insert((a, b));
            }
        }
    }
    for &(a, b) in &pairs {
        let (fa, fb) = (&order[a], &order[b]);
        let ties: Vec<_> = groups
            .iter()
            .flat_map(|g| {
                let m: Vec<TreeId> = g
                    .members
                    .iter()
                    .copied()
                    .filter(|m| fam[m.0] == *fa || fam[m.0] == *fb)
                    .collect();
                let both = m.iter().any(|x| fam[x.0] == *fa) && m.iter().any(|x| fam[x.0] == *fb);
                if both {
                    tie_set(tree, &m)
                } else {
                    Vec::new()
                }
            })
            .collect();
        candidates.push((
            MoveKind::TieFamilies {
                first: fa.clone(),
                second: fb.clone(),
            },
            format!("sample `{fb}` together with `{fa}`"),
            ties,
        ));
    }

    // (3) One family's members across row groups, and (4) the unimportant members of two
    // families that never share a row group.
    let members_of = |f: &str| -> Vec<TreeId> {
        (0..tree.nodes.len())
            .map(TreeId)
            .filter(|&i| fam[i.0] == f)
            .collect()
    };
    for f in &order {
        let m = members_of(f);
        if m.len() > 1 {
            candidates.push((
                MoveKind::TieFamily { family: f.clone() },
                format!("sample every member of `{f}` together"),
                tie_set(tree, &m),
            ));
        }
    }
    let unimportant_of = |f: &str| -> Vec<TreeId> {
        members_of(f)
            .into_iter()
            .filter(|&i| class(tree, i) == Class::Unimportant)
            .collect()
    };
    for a in 0..order.len() {
        let ua = unimportant_of(&order[a]);
        let Some(&lead) = ua.first() else { continue };
        for (b, fb) in order.iter().enumerate() {
            if a == b || pairs.contains(&(a.min(b), a.max(b))) {
                continue;
            }
            let ties: Vec<_> = unimportant_of(fb)
                .into_iter()
                .filter(|&m| m > lead && datum_key(tree, m) != datum_key(tree, lead))
                .map(|m| (m, lead))
                .collect();
            candidates.push((
                MoveKind::TieUnimportant {
                    first: order[a].clone(),
                    second: fb.clone(),
                },
                format!(
                    "sample the unimportant `{fb}` together with `{}`",
                    tree.nodes[lead.0].path
                ),
                ties,
            ));
        }
    }

    // Two moves are the same when they give every follower the same datum: leaders that
    // already share a datum (unimportant siblings of one group) are interchangeable.
    let mut seen: BTreeSet<Vec<(TreeId, String)>> = BTreeSet::new();
    let mut out = Vec::new();
    for (kind, description, mut ties) in candidates {
        ties.sort();
        let mut effect: Vec<(TreeId, String)> =
            ties.iter().map(|&(f, l)| (f, datum_key(tree, l))).collect();
        effect.sort();
        if ties.is_empty() || !seen.insert(effect) {
            continue;
        }
        out.push(Move {
            description: format!("{description} ({} ties)", ties.len()),
            kind,
            ties: ties
                .into_iter()
                .map(|(f, l)| Tie {
                    follower: tree.nodes[f.0].path.0.clone(),
                    leader: tree.nodes[l.0].path.0.clone(),
                })
                .collect(),
            refinements: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
#[path = "moves_tests.rs"]
pub(crate) mod tests;

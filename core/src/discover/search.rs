//! The greedy search, blind to models: it proposes drafts and a caller-supplied scorer
//! scrubs them. Breadth first from the output: drop a recomputed node's inputs, least
//! important first, in growing blocks while % recovered stays at the threshold (a failing
//! block is halved down to single inputs, which are kept); give each kept input the
//! coarsest candidate feature that keeps the threshold; then recompute each kept input that
//! has inputs of its own from them, on its datum, and treat it the same way.

use std::collections::VecDeque;

use serde::Serialize;

use super::draft::{DraftDatum, DraftNode, Input};
use crate::experiment::TreeScore;

/// A feature a node may agree on, with how many values it takes on the pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureCandidate {
    pub name: String,
    pub classes: usize,
}

/// What the search needs besides the scorer.
pub struct SearchSpec<'a> {
    /// % loss recovered every accepted step must keep.
    pub threshold: f64,
    /// Samples every decision that keeps a change is scored on.
    pub samples: usize,
    /// Samples of a cheap first scrub (the first of the same paired samples): a change it
    /// puts more than [`SCREEN_STDERRS`] standard errors below the threshold is rejected
    /// on it; any other is scored on all `samples`. `None`: every scrub on all samples.
    pub screen: Option<usize>,
    /// Scrubs the search may run, the first (the starting tree) included.
    pub budget: usize,
    /// How many levels below the output nodes are recomputed from their inputs (1: the
    /// output's inputs are read plainly, each on its datum). `None`: no limit.
    pub depth: Option<usize>,
    /// The output term the tree's root recomputes.
    pub output: &'a str,
    /// The inputs a term is computed from, `None` for a term read on a datum only (an
    /// embedding, a bias).
    pub inputs_of: &'a dyn Fn(&str) -> Option<Vec<Input>>,
    /// How much `term` matters to `reader` by attribution (larger: more); inputs are tried
    /// for dropping in increasing order.
    pub importance: &'a dyn Fn(&str, &str) -> f64,
    /// Features to try, coarsest first.
    pub features: &'a [FeatureCandidate],
    /// Whether a term has the same value on every datum (a positional embedding, a bias):
    /// leaving it out claims nothing.
    pub constant: &'a dyn Fn(&str) -> bool,
}

/// Standard errors below the threshold at which a cheap first scrub rejects a change.
pub const SCREEN_STDERRS: f64 = 3.0;

/// What one scrub tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    /// The node whose inputs or datum changed (`out/mlp0`).
    pub node: String,
    /// What changed, in words.
    pub change: String,
    pub pct_recovered: f64,
    pub pct_stderr: f64,
    /// Samples it was scored on (fewer for a cheap first scrub that rejected it).
    pub samples: usize,
    /// Whether it kept the threshold and was kept.
    pub accepted: bool,
}

/// The search's result.
#[derive(Debug, Clone)]
pub struct Found {
    pub root: DraftNode,
    /// The starting tree's score (every input of the output on the reference).
    pub start: TreeScore,
    /// The found tree's score (the last accepted step's, on the same samples).
    pub score: TreeScore,
    pub trials: Vec<Trial>,
    /// Scrubs run, cheap ones and the starting tree's included.
    pub scrubs: usize,
    /// Whether the budget ran out before every node was examined.
    pub exhausted: bool,
}

/// A scorer: scrubs a draft on the first `n` of the search's fixed paired samples.
pub type Scorer<'a, E> = dyn FnMut(&DraftNode, usize) -> Result<TreeScore, E> + 'a;

/// Runs the search; `score` scrubs a draft on the search's fixed samples and seed, and
/// `on_scrub(done)` reports progress after each scrub.
pub fn search<E>(
    spec: &SearchSpec,
    score: &mut Scorer<E>,
    on_scrub: &mut dyn FnMut(usize),
) -> Result<Found, E> {
    let inputs = (spec.inputs_of)(spec.output).unwrap_or_default();
    let mut root = DraftNode::recomputed(spec.output, &inputs);
    let start = score(&root, spec.samples)?;
    on_scrub(1);
    let mut s = Search {
        spec,
        score,
        on_scrub,
        scrubs: 1,
        current: start,
        trials: Vec::new(),
    };
    root.notes.push(format!(
        "the output, recomputed from its inputs (all of them, on the reference: {})",
        pct(&start)
    ));
    let mut queue: VecDeque<Vec<usize>> = VecDeque::from([Vec::new()]);
    if start.pct_recovered < spec.threshold {
        root.notes.push(format!(
            "the starting tree is below the threshold of {}%: nothing can be dropped",
            spec.threshold
        ));
        queue.clear();
    }
    let mut exhausted = false;
    while let Some(at) = queue.pop_front() {
        if s.spent() {
            exhausted = true;
            queue.push_front(at);
            break;
        }
        s.drop_inputs(&mut root, &at)?;
        s.choose_features(&mut root, &at)?;
        for i in 0..root.at(&at).children().len() {
            let mut child_at = at.clone();
            child_at.push(i);
            let deep = spec.depth.is_some_and(|d| child_at.len() >= d);
            let node = root.at_mut(&child_at);
            if let Some(terms) = (spec.inputs_of)(&node.term).filter(|_| !deep) {
                node.inputs = Some(DraftNode::children_of(&terms));
                node.notes.push(format!(
                    "recomputed from its inputs on its own datum ({} terms before dropping)",
                    terms.len()
                ));
                queue.push_back(child_at);
            } else if deep && (spec.inputs_of)(&node.term).is_some() {
                node.notes
                    .push("read plainly: the search stops at this depth (--depth)".into());
            }
        }
    }
    if exhausted {
        for at in queue {
            root.at_mut(&at)
                .notes
                .push("not examined: the budget of scrubs ran out".into());
        }
    }
    let mut collapsed = false;
    for c in root.inputs.iter_mut().flatten() {
        collapsed |= collapse(c, spec).1;
    }
    if collapsed && !s.spent() {
        // Extensionally the same tree; scored again so the reported figure is the file's.
        let again = (s.score)(&root, spec.samples)?;
        s.scrubs += 1;
        (s.on_scrub)(s.scrubs);
        s.current = again;
    }
    Ok(Found {
        score: s.current,
        start,
        scrubs: s.scrubs,
        trials: s.trials,
        exhausted,
        root,
    })
}

/// Reads plainly every recomputed node below and at `node` whose recomputation claims
/// nothing: every input that varies kept, on the node's own datum, and itself claiming
/// nothing. Returns whether `node` now claims nothing beyond its parent's datum, and whether
/// anything was collapsed.
pub(super) fn collapse(node: &mut DraftNode, spec: &SearchSpec) -> (bool, bool) {
    let Some(children) = node.inputs.as_mut() else {
        return (node.datum == DraftDatum::Parent, false);
    };
    let (mut trivial, mut collapsed) = (true, false);
    for c in children.iter_mut() {
        let (t, k) = collapse(c, spec);
        trivial &= t;
        collapsed |= k;
    }
    let kept: Vec<(&str, Option<&str>)> = children
        .iter()
        .map(|c| (c.term.as_str(), c.port.as_deref()))
        .collect();
    let covers = (spec.inputs_of)(&node.term)
        .unwrap_or_default()
        .iter()
        .all(|i| kept.contains(&(i.term.as_str(), i.port.as_deref())) || (spec.constant)(&i.term));
    if trivial && covers {
        node.inputs = None;
        node.notes.push(
            "read plainly: recomputing it claimed nothing (every input that varies is needed, on its own datum)"
                .into(),
        );
        collapsed = true;
    }
    (
        node.datum == DraftDatum::Parent && node.inputs.is_none(),
        collapsed,
    )
}

/// `pct ± se %`.
fn pct(s: &TreeScore) -> String {
    format!("{:.1} ± {:.1}%", s.pct_recovered, s.pct_stderr)
}

struct Search<'s, 'a, E> {
    spec: &'s SearchSpec<'a>,
    score: &'s mut Scorer<'a, E>,
    on_scrub: &'s mut dyn FnMut(usize),
    scrubs: usize,
    /// The score of the tree as accepted so far.
    current: TreeScore,
    trials: Vec<Trial>,
}

impl<E> Search<'_, '_, E> {
    fn spent(&self) -> bool {
        self.scrubs >= self.spec.budget
    }

    /// Scrubs `draft` (first cheaply, where the spec says so); `None` once the budget is
    /// spent.
    fn try_draft(
        &mut self,
        draft: &DraftNode,
        node: String,
        change: String,
    ) -> Result<Option<TreeScore>, E> {
        let full = self.spec.samples;
        if let Some(n) = self.spec.screen.filter(|&n| n < full) {
            let Some(cheap) = self.scrub(draft, n)? else {
                return Ok(None);
            };
            if cheap.pct_recovered + SCREEN_STDERRS * cheap.pct_stderr < self.spec.threshold {
                self.record(node, change, &cheap, n, false);
                return Ok(Some(cheap));
            }
        }
        let Some(s) = self.scrub(draft, full)? else {
            return Ok(None);
        };
        let accepted = s.pct_recovered >= self.spec.threshold;
        self.record(node, change, &s, full, accepted);
        if accepted {
            self.current = s;
        }
        Ok(Some(s))
    }

    /// One scrub on `n` samples, counted against the budget; `None` once it is spent.
    fn scrub(&mut self, draft: &DraftNode, n: usize) -> Result<Option<TreeScore>, E> {
        if self.spent() {
            return Ok(None);
        }
        let s = (self.score)(draft, n)?;
        self.scrubs += 1;
        (self.on_scrub)(self.scrubs);
        Ok(Some(s))
    }

    fn record(&mut self, node: String, change: String, s: &TreeScore, n: usize, accepted: bool) {
        tracing::debug!(node = %node, change = %change, pct = s.pct_recovered, samples = n, accepted, "scrubbed");
        self.trials.push(Trial {
            node,
            change,
            pct_recovered: s.pct_recovered,
            pct_stderr: s.pct_stderr,
            samples: n,
            accepted,
        });
    }

    /// Drops the inputs of the node at `at` that % recovered does not need.
    fn drop_inputs(&mut self, root: &mut DraftNode, at: &[usize]) -> Result<(), E> {
        let node = root.at(at);
        let path = root.path(at);
        let reader = node.term.clone();
        let mut order: Vec<(String, f64)> = node
            .children()
            .iter()
            .map(|c| (c.name.clone(), (self.spec.importance)(&reader, &c.term)))
            .collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (mut i, mut k) = (0, 1);
        let mut dropped: Vec<String> = Vec::new();
        while i < order.len() {
            let block: Vec<String> = order[i..(i + k).min(order.len())]
                .iter()
                .map(|(t, _)| t.clone())
                .collect();
            let mut trial = root.clone();
            trial
                .at_mut(at)
                .inputs
                .as_mut()
                .expect("recomputed")
                .retain(|c| !block.contains(&c.name));
            let change = format!("drop {}", block.join(", "));
            let Some(s) = self.try_draft(&trial, path.clone(), change)? else {
                break;
            };
            if s.pct_recovered >= self.spec.threshold {
                *root = trial;
                dropped.extend(block.iter().cloned());
                i += block.len();
                k *= 2;
            } else if block.len() == 1 {
                let child = root
                    .at_mut(at)
                    .inputs
                    .as_mut()
                    .expect("recomputed")
                    .iter_mut()
                    .find(|c| c.name == block[0])
                    .expect("a child");
                child.notes.push(format!(
                    "important to {reader}: unimportant it leaves {} (attribution {:.3}, rank {} of {})",
                    pct(&s),
                    order[i].1,
                    order.len() - i,
                    order.len()
                ));
                i += 1;
                k = 1;
            } else {
                k = (block.len() / 2).max(1);
            }
        }
        for (name, _) in &order[i..] {
            if let Some(c) = root
                .at_mut(at)
                .inputs
                .as_mut()
                .and_then(|l| l.iter_mut().find(|c| c.name == *name))
            {
                c.notes
                    .push("kept untested: the budget of scrubs ran out".into());
            }
        }
        let kept = root.at(at).children().len();
        root.at_mut(at).notes.push(match dropped.is_empty() {
            true => format!("every one of its {kept} inputs is needed"),
            false => format!(
                "{kept} of {} inputs kept; unimportant (in the `~rest` remainder): {}",
                order.len(),
                dropped.join(", ")
            ),
        });
        Ok(())
    }

    /// Gives each input of the node at `at` the coarsest feature that keeps the threshold.
    fn choose_features(&mut self, root: &mut DraftNode, at: &[usize]) -> Result<(), E> {
        for i in 0..root.at(at).children().len() {
            let mut child_at = at.to_vec();
            child_at.push(i);
            let path = root.path(&child_at);
            let mut tried: Vec<String> = Vec::new();
            let mut chosen = None;
            for f in self.spec.features {
                let mut trial = root.clone();
                trial.at_mut(&child_at).datum = DraftDatum::Feature(f.name.clone());
                let change = format!("agree on {}", f.name);
                let Some(s) = self.try_draft(&trial, path.clone(), change)? else {
                    break;
                };
                if s.pct_recovered >= self.spec.threshold {
                    *root = trial;
                    chosen = Some((f, s));
                    break;
                }
                tried.push(format!("{} {:.1}%", f.name, s.pct_recovered));
            }
            let coarser = match tried.is_empty() {
                true => String::new(),
                false => format!("; coarser tried: {}", tried.join(", ")),
            };
            let note = match chosen {
                Some((f, s)) => format!(
                    "agrees with its parent on `{}` ({} values), the coarsest feature keeping the threshold: {}{coarser}",
                    f.name,
                    f.classes,
                    pct(&s)
                ),
                None if self.spent() => format!("on its parent's datum: features untested, the budget ran out{coarser}"),
                None => format!("on its parent's datum: no feature keeps the threshold{coarser}"),
            };
            root.at_mut(&child_at).notes.push(note);
        }
        Ok(())
    }
}

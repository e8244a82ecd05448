//! The write-up's induction experiments as hypothesis files, generated from the identified
//! heads (induction heads, previous-token head, self-attending heads) rather than written
//! by hand, so that retraining the model regenerates them. `scrub induction hypotheses
//! --write` writes them under `scenarios/induction/hypotheses/`; a test checks the
//! committed files are what the committed model's scores generate.
//!
//! Every file runs with `sharing: Global`: all unimportant nodes of a sample share one
//! random sequence, the write-up's emb2. Unlisted inputs of a recomputed port go to emb2.
//! The model's residual stream into layer 1 is `emb + Σ 0.h + b0`; the layer-1 heads that
//! are not induction heads and everything else always run on the reference (emb).

use std::path::Path;

use scrub_core::scrub::hypothesis::HypothesisFile;

use super::heads::Head;

/// The heads the experiments are about.
#[derive(Debug, Clone, PartialEq)]
pub struct Roles {
    /// Layer-1 induction heads.
    pub induction: Vec<Head>,
    /// The layer-0 previous-token head.
    pub previous: Head,
    /// Layer-0 heads that mostly attend to copies of the current token.
    pub self_attending: Vec<Head>,
    pub n_heads: usize,
    /// Context length: refined 5 draws one pattern row per position.
    pub n_ctx: usize,
}

/// Which hypothesis (the write-up's naive and refined 1–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Naive,
    Refined(u8),
}

/// Which inputs of the induction heads a file scrubs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Q,
    K,
    V,
    All,
}

impl Part {
    /// Every part, in table order.
    pub const ALL: [Part; 4] = [Part::Q, Part::K, Part::V, Part::All];

    /// `q`, `k`, `v` or `all`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Q => "q",
            Part::K => "k",
            Part::V => "v",
            Part::All => "all",
        }
    }

    fn scrubs(self, port: Part) -> bool {
        self == Part::All || self == port
    }
}

impl Family {
    /// Every hypothesis, in table order.
    pub const ALL: [Family; 6] = [
        Family::Naive,
        Family::Refined(1),
        Family::Refined(2),
        Family::Refined(3),
        Family::Refined(4),
        Family::Refined(5),
    ];

    /// `naive`, `refined1`, ...
    pub fn name(self) -> String {
        match self {
            Family::Naive => "naive".into(),
            Family::Refined(i) => format!("refined{i}"),
        }
    }

    /// The write-up's % loss recovered for Q, K, V, all.
    pub fn write_up(self) -> [f64; 4] {
        match self {
            Family::Naive => [51.0, 79.0, 90.0, 35.0],
            Family::Refined(1) => [76.0, 86.0, 97.0, 62.0],
            Family::Refined(2) => [87.0, 91.0, 97.0, 76.0],
            Family::Refined(3) => [98.0, 97.0, 97.0, 91.0],
            Family::Refined(4) => [97.0, 91.0, 97.0, 86.0],
            _ => [97.0, 94.0, 97.0, 89.0],
        }
    }

    fn claim(self) -> &'static str {
        match self {
            Family::Naive => "naive hypothesis: induction-head queries and values come from the token embeddings alone; keys from the output of the previous-token head on the previous position (its attention pattern from emb2)",
            Family::Refined(1) => "refined 1: as naive, but every layer-0 head reaches q, k and v through its OV on emb with its attention pattern from emb2 (only the average attention matters)",
            Family::Refined(2) => "refined 2: as refined 1, but only the current position of the OV of each layer-0 head reaches v, and only the last 3 positions reach q and k; the rest from emb2",
            Family::Refined(3) => "refined 3: as refined 2, but the previous-token head and the self-attending layer-0 heads reach q and k unscrubbed",
            Family::Refined(4) => "refined 4: as refined 2, but the self-attending layer-0 heads reach q as if they attended to the current token (identity attention on emb) plus their error term on emb2",
            _ => "refined 5: as refined 4, but the attention of the previous-token head (k path) at each position comes from a sequence that agrees on whether that position is typical (values as in refined 4: the last 3 positions on emb, the rest on emb2)",
        }
    }
}

/// `0.3` for head 3 of layer 0.
fn l0(h: usize) -> String {
    format!("0.{h}")
}

/// Terms layer-0 head `h` is split into under `family`'s rewrites.
fn parts(roles: &Roles, family: Family, h: usize) -> Vec<String> {
    let n = l0(h);
    match family {
        Family::Naive if h == roles.previous.head => vec![format!("{n}@prev"), format!("{n}~prev")],
        Family::Naive | Family::Refined(1) => vec![n],
        Family::Refined(f) if f >= 4 && is_self(roles, h) => vec![
            format!("{n}@last3@cur@eye"),
            format!("{n}@last3@cur~eye"),
            format!("{n}@last3~cur"),
            format!("{n}~last3"),
        ],
        Family::Refined(_) => vec![
            format!("{n}@last3@cur"),
            format!("{n}@last3~cur"),
            format!("{n}~last3"),
        ],
    }
}

fn is_self(roles: &Roles, h: usize) -> bool {
    roles.self_attending.iter().any(|s| s.head == h)
}

fn rewrites(roles: &Roles, family: Family) -> Vec<String> {
    let mask = |term: String, mask: &str| format!("Mask(term: \"{term}\", mask: \"{mask}\")");
    match family {
        Family::Naive => vec![mask(l0(roles.previous.head), "prev")],
        Family::Refined(1) => vec![],
        Family::Refined(f) => {
            let mut out = Vec::new();
            for h in 0..roles.n_heads {
                out.push(mask(l0(h), "last3"));
                out.push(mask(format!("{}@last3", l0(h)), "cur"));
            }
            if f >= 4 {
                for s in &roles.self_attending {
                    out.push(mask(format!("{}@last3@cur", l0(s.head)), "eye"));
                }
            }
            out
        }
    }
}

fn quoted(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[{}]", q.join(", "))
}

/// Every layer-0 term of the residual stream, with the embedding and the bias.
fn layer0_terms(roles: &Roles, family: Family) -> Vec<String> {
    let mut t = vec!["emb".to_string()];
    (0..roles.n_heads).for_each(|h| t.extend(parts(roles, family, h)));
    t.push("b0".into());
    t
}

/// The direct path into `port`: embedding (and the constant bias) on the reference.
fn emb(port: Part) -> String {
    format!(
        "Node(name: \"{}:emb\", reference: true, reads: [\"emb\", \"b0\"])",
        port.name()
    )
}

/// Layer-0 part `term` recomputed inside `port`: OV on the reference, attention pattern
/// `pattern` (a list of nodes; default: the head's pattern on emb2).
fn ov_on_emb(port: Part, term: &str, h: usize, pattern: Option<&str>) -> String {
    let pattern = pattern.map_or_else(
        || format!("Node(name: \"pattern\", reads: [\"{}.pattern\"])", l0(h)),
        str::to_string,
    );
    format!(
        "Node(name: \"{}:{term}\", reference: true, computes: \"{term}\", ports: {{\"pattern\": [{pattern}], \"v\": [Node(name: \"emb\", reference: true, reads: [\"emb\"])]}})",
        port.name()
    )
}

fn plain_ref(name: &str, terms: &[String]) -> String {
    format!(
        "Node(name: \"{name}\", reference: true, reads: {})",
        quoted(terms)
    )
}

/// Pieces of an induction head's `port` input under `family` (everything not listed
/// comes from emb2). `first` is the first induction head, whose per-position draws
/// (refined 5) every later part shares.
fn scrubbed(roles: &Roles, family: Family, port: Part, first: bool) -> Vec<String> {
    let p = roles.previous.head;
    let x = port.name();
    let each = |f: &dyn Fn(usize) -> Vec<String>| -> Vec<String> {
        std::iter::once(emb(port))
            .chain((0..roles.n_heads).flat_map(f))
            .collect()
    };
    let cur = |h: usize| format!("{}@last3@cur", l0(h));
    let near = |h: usize| format!("{}@last3~cur", l0(h));
    let ov = |term: &str, h: usize| ov_on_emb(port, term, h, None);
    match (family, port) {
        (Family::Naive, Part::K) => vec![ov(&format!("{}@prev", l0(p)), p)],
        (Family::Naive, _) => vec![emb(port)],
        (Family::Refined(1), _) => each(&|h| vec![ov(&l0(h), h)]),
        (Family::Refined(f), Part::V) => each(&|h| {
            if f >= 4 && is_self(roles, h) {
                vec![
                    ov(&format!("{}@eye", cur(h)), h),
                    ov(&format!("{}~eye", cur(h)), h),
                ]
            } else {
                vec![ov(&cur(h), h)]
            }
        }),
        (Family::Refined(f), _) => each(&|h| {
            if f == 3 && (h == p || is_self(roles, h)) {
                return vec![plain_ref(
                    &format!("{x}:{}", l0(h)),
                    &parts(roles, family, h),
                )];
            }
            if f >= 4 && is_self(roles, h) {
                let eye = format!("{}@eye", cur(h));
                return match port {
                    // Identity attention on emb; the error term and the rest on emb2.
                    Part::Q => vec![plain_ref(&format!("{x}:{eye}"), std::slice::from_ref(&eye))],
                    _ => vec![
                        ov(&eye, h),
                        ov(&format!("{}~eye", cur(h)), h),
                        ov(&near(h), h),
                    ],
                };
            }
            if f == 5 && port == Part::K && h == p {
                let head = roles.induction.first().expect("an induction head");
                let drawn = format!("out/{head}/pattern/k:{}/pattern[{{t}}]", cur(h));
                let same = per_position_pattern(h, Some(&drawn), roles.n_ctx);
                let cur_rows = if first {
                    per_position_pattern(h, None, roles.n_ctx)
                } else {
                    same.clone()
                };
                // The whole attention row comes from the agreeing sequence: the part beyond
                // the last 3 positions too, with its values on emb2.
                let far = format!("{}~last3", l0(h));
                return vec![
                    ov_on_emb(port, &cur(h), h, Some(&cur_rows)),
                    ov_on_emb(port, &near(h), h, Some(&same)),
                    format!(
                        "Node(name: \"{x}:{far}\", reference: true, computes: \"{far}\", ports: {{\"pattern\": [{same}], \"v\": [Node(name: \"emb\", reads: [\"emb\"])]}})"
                    ),
                ];
            }
            vec![ov(&cur(h), h), ov(&near(h), h)]
        }),
    }
}

/// The previous-token head's pattern drawn per query position from a sequence typical
/// where the reference is, or (`same_as`) the draws of an earlier such node.
fn per_position_pattern(h: usize, same_as: Option<&str>, n_ctx: usize) -> String {
    let datum = match same_as {
        Some(path) => format!("same_as: \"{path}\""),
        None => "feature: \"typical_at({t})\"".into(),
    };
    format!(
        "ForEach(var: \"t\", from: 0, to: {}, node: Node(name: \"pattern[{{t}}]\", {datum}, rows: \"{{t}}\", reads: [\"{}.pattern\"]))",
        n_ctx - 1,
        l0(h)
    )
}

fn port_node(roles: &Roles, family: Family, part: Part, port: Part, first: bool) -> String {
    let pieces = if part.scrubs(port) {
        scrubbed(roles, family, port, first)
    } else {
        vec![plain_ref(port.name(), &layer0_terms(roles, family))]
    };
    format!("[{}]", pieces.join(", "))
}

fn induction_node(roles: &Roles, family: Family, part: Part, head: Head, first: bool) -> String {
    let name = head.to_string();
    let pattern = if part == Part::V {
        format!("Node(name: \"pattern\", reference: true, reads: [\"{name}.pattern\"])")
    } else {
        format!(
            "Node(name: \"pattern\", reference: true, computes: \"{name}.pattern\", ports: {{\"q\": {}, \"k\": {}}})",
            port_node(roles, family, part, Part::Q, first),
            port_node(roles, family, part, Part::K, first),
        )
    };
    format!(
        "Node(name: \"{name}\", reference: true, computes: \"{name}\", ports: {{\"pattern\": [{pattern}], \"v\": {}}})",
        port_node(roles, family, part, Part::V, first)
    )
}

/// Terms the output reads on the reference: everything but the induction heads.
fn rest(roles: &Roles, family: Family) -> String {
    let mut t = layer0_terms(roles, family);
    for h in 0..roles.n_heads {
        if !roles.induction.iter().any(|i| i.head == h) {
            t.push(format!("1.{h}"));
        }
    }
    t.push("b1".into());
    plain_ref("rest", &t)
}

fn file(description: &str, rewrites: &[String], inputs: &[String]) -> String {
    let rw = if rewrites.is_empty() {
        String::new()
    } else {
        format!(
            "    rewrites: [\n        {},\n    ],\n",
            rewrites.join(",\n        ")
        )
    };
    format!(
        "Hypothesis(\n    scenario: \"induction\",\n    description: \"{description}\",\n    sharing: Global,\n{rw}    root: Node(\n        name: \"out\",\n        reference: true,\n        computes: \"out\",\n        inputs: [\n            {},\n        ],\n    ),\n)\n",
        inputs.join(",\n            ")
    )
}

/// The baseline: the induction heads run on emb2, everything else on the reference.
pub fn baseline(roles: &Roles) -> String {
    let mut inputs = vec![rest(roles, Family::Refined(1))];
    for h in &roles.induction {
        inputs.push(format!("Node(name: \"{h}\", reads: [\"{h}\"])"));
    }
    let heads: Vec<String> = roles.induction.iter().map(|h| h.to_string()).collect();
    file(
        &format!(
            "baseline: induction heads {} run on emb2, the rest of the model on the reference",
            heads.join(", ")
        ),
        &[],
        &inputs,
    )
}

/// One experiment's file: `family`'s claims applied to `part` of the induction heads.
pub fn experiment(roles: &Roles, family: Family, part: Part) -> String {
    let mut inputs = vec![rest(roles, family)];
    for (i, h) in roles.induction.iter().enumerate() {
        inputs.push(induction_node(roles, family, part, *h, i == 0));
    }
    file(
        &format!("{} [scrubbed: {}]", family.claim(), part.name()),
        &rewrites(roles, family),
        &inputs,
    )
}

/// Every file, `(stem, text)`: `baseline` then `{family}_{part}`, laid out for reading
/// under a comment that names the heads they were generated from.
pub fn all(roles: &Roles) -> Vec<(String, String)> {
    let mut out = vec![("baseline".to_string(), baseline(roles))];
    for f in Family::ALL {
        for p in Part::ALL {
            let stem = format!("{}_{}", f.name(), p.name());
            out.push((stem, experiment(roles, f, p)));
        }
    }
    let names = |hs: &[Head]| {
        let v: Vec<String> = hs.iter().map(|h| h.to_string()).collect();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let header = format!(
        "// Generated by `scrub induction hypotheses --write` from the measured heads: induction\n\
         // heads {}; previous-token head {}; self-attending heads {}. Copy it to edit it.\n",
        names(&roles.induction),
        roles.previous,
        names(&roles.self_attending)
    );
    out.into_iter()
        .map(|(stem, text)| {
            let laid_out = HypothesisFile::parse(&text, Path::new(&stem))
                .map(|f| f.to_ron())
                .unwrap_or(text);
            (stem, format!("{header}{laid_out}"))
        })
        .collect()
}

#[cfg(test)]
#[path = "hypotheses_tests.rs"]
mod tests;

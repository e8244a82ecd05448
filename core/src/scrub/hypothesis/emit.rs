//! Writes a hypothesis as RON laid out for reading: a leaf node on one line where it fits
//! (per-position hypotheses have dozens), a node with children over several lines, each node
//! optionally after a comment saying why it is there. ron's own pretty printer can only put
//! every list on one line or every element on its own, and writes no comments.

use std::fmt::Write;

use serde::Serialize;

use super::{Child, HypothesisFile, NodeSpec};

const INDENT: &str = "    ";

/// Longest line a leaf node is kept on.
const WIDTH: usize = 100;

/// A comment for the node at a path (`out`, `out/1.0`), or none.
pub(super) type Notes<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn to_ron(h: &HypothesisFile, notes: Notes) -> String {
    let mut out = String::new();
    if let Some(header) = notes("") {
        comment(&mut out, &header, "");
    }
    out.push_str("Hypothesis(\n");
    let field = |out: &mut String, key: &str, value: String| {
        let _ = writeln!(out, "{INDENT}{key}: {value},");
    };
    field(&mut out, "scenario", quote(&h.scenario));
    if !h.description.is_empty() {
        field(&mut out, "description", quote(&h.description));
    }
    field(&mut out, "samples", h.samples.to_string());
    field(&mut out, "seed", h.seed.to_string());
    field(&mut out, "sharing", compact(&h.sharing));
    if !h.pad_mask.is_default() {
        field(&mut out, "pad_mask", compact(&h.pad_mask));
    }
    if !h.rewrites.is_empty() {
        out.push_str(INDENT);
        out.push_str("rewrites: [\n");
        for r in &h.rewrites {
            let _ = writeln!(out, "{INDENT}{INDENT}{},", compact(r));
        }
        out.push_str(INDENT);
        out.push_str("],\n");
    }
    if let Some(note) = notes(&h.root.name) {
        comment(&mut out, &note, INDENT);
    }
    out.push_str(INDENT);
    out.push_str("root: ");
    node(&mut out, &h.root, 1, &h.root.name, notes);
    out.push_str(",\n)\n");
    out
}

/// `text` as `//` lines, each after `indent`.
fn comment(out: &mut String, text: &str, indent: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{indent}// {line}");
    }
}

/// Writes `n` (at `path`) as `Node(...)`, continuation lines indented `depth` levels.
fn node(out: &mut String, n: &NodeSpec, depth: usize, path: &str, notes: Notes) {
    let mut fields = vec![format!("name: {}", quote(&n.name))];
    let opt =
        |key: &str, v: &Option<String>| v.as_ref().map(|v| format!("{key}: Some({})", quote(v)));
    fields.extend(opt("feature", &n.feature));
    fields.extend(opt("same_as", &n.same_as));
    if n.reference {
        fields.push("reference: true".into());
    }
    fields.extend(opt("shares", &n.shares));
    fields.extend(opt("rows", &n.rows));
    if !n.reads.is_empty() {
        let reads: Vec<String> = n.reads.iter().map(|r| quote(r)).collect();
        fields.push(format!("reads: [{}]", reads.join(", ")));
    }
    fields.extend(opt("computes", &n.computes));
    let column = out.chars().rev().take_while(|&c| c != '\n').count();
    let one_line = format!("Node({})", fields.join(", "));
    // Room for the `),` that closes an enclosing generator and ends the list element.
    if n.inputs.is_empty() && n.ports.is_empty() && column + one_line.len() + 2 <= WIDTH {
        out.push_str(&one_line);
        return;
    }
    let pad = INDENT.repeat(depth + 1);
    out.push_str("Node(\n");
    for f in fields {
        let _ = writeln!(out, "{pad}{f},");
    }
    if !n.inputs.is_empty() {
        let _ = writeln!(out, "{pad}inputs: [");
        children(out, &n.inputs, depth + 2, path, notes);
        let _ = writeln!(out, "{pad}],");
    }
    if !n.ports.is_empty() {
        let _ = writeln!(out, "{pad}ports: {{");
        for (port, list) in &n.ports.0 {
            let _ = writeln!(out, "{pad}{INDENT}{}: [", quote(port));
            children(out, list, depth + 3, path, notes);
            let _ = writeln!(out, "{pad}{INDENT}],");
        }
        let _ = writeln!(out, "{pad}}},");
    }
    out.push_str(&INDENT.repeat(depth));
    out.push(')');
}

fn children(out: &mut String, list: &[Child], depth: usize, parent: &str, notes: Notes) {
    for c in list {
        let indent = INDENT.repeat(depth);
        if let Child::Node(n) = c {
            if let Some(note) = notes(&format!("{parent}/{}", n.name)) {
                comment(out, &note, &indent);
            }
        }
        out.push_str(&indent);
        child(out, c, depth, parent, notes);
        out.push_str(",\n");
    }
}

fn child(out: &mut String, c: &Child, depth: usize, parent: &str, notes: Notes) {
    match c {
        Child::Node(n) => node(out, n, depth, &format!("{parent}/{}", n.name), notes),
        Child::ForEach(f) => {
            let _ = write!(
                out,
                "ForEach(var: {}, from: {}, to: {}, node: ",
                quote(&f.var),
                f.from,
                f.to
            );
            // A generator's nodes have no path until expanded: no notes inside it.
            child(out, &f.node, depth, parent, &|_| None);
            out.push(')');
        }
    }
}

/// A RON string literal; ron's serialiser escapes what needs escaping.
fn quote(s: &str) -> String {
    compact(&s)
}

/// A small value on one line.
fn compact<T: Serialize + ?Sized>(v: &T) -> String {
    let cfg = ron::ser::PrettyConfig::new()
        .compact_structs(true)
        .compact_arrays(true)
        .compact_maps(true);
    // Strings, numbers and unit or struct enum variants always serialise.
    ron::ser::to_string_pretty(v, cfg).unwrap_or_default()
}

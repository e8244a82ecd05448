//! The kinds a JSONL cell can have, and one column's values typed by the first it holds.

use std::borrow::Cow;
use std::collections::HashMap;

use super::Scope;

/// A column's kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Ty {
    Int,
    Bool,
    Float,
    Str,
}

/// One JSON value that is not an array or object.
pub(super) enum Scalar<'de> {
    Int(i64),
    /// An integer above `i64::MAX`.
    Big(u64),
    Bool(bool),
    Float(f64),
    Str(Cow<'de, str>),
}

impl Scalar<'_> {
    pub(super) fn describe(&self) -> String {
        match self {
            Scalar::Int(x) => x.to_string(),
            Scalar::Big(x) => x.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Float(x) => x.to_string(),
            Scalar::Str(s) => format!("the string {s:?}"),
        }
    }
}

/// A JSON value that cannot be a cell: what the error message calls it.
#[derive(Debug, Clone, Copy)]
pub(super) enum NotScalar {
    Null,
    Array,
    Object,
}

impl NotScalar {
    pub(super) fn describe(self) -> &'static str {
        match self {
            NotScalar::Null => "null",
            NotScalar::Array => "an array",
            NotScalar::Object => "an object",
        }
    }
}

/// A column kind (and its scope) as error messages name it.
pub(super) fn kind_name(scope: Scope, ty: Ty) -> String {
    let ty = match ty {
        Ty::Int => "int",
        Ty::Bool => "bool",
        Ty::Float => "float",
        Ty::Str => "string",
    };
    match scope {
        Scope::PerDatum => ty.to_string(),
        Scope::PerPosition => format!("per-position {ty}"),
    }
}

/// Values of one column over some lines, typed by the first value seen.
pub(super) enum Buf {
    Empty,
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Float(Vec<f64>),
    Str {
        index: HashMap<String, u32>,
        dict: Vec<String>,
        codes: Vec<u32>,
    },
}

impl Buf {
    pub(super) fn ty(&self) -> Option<Ty> {
        match self {
            Buf::Empty => None,
            Buf::Int(_) => Some(Ty::Int),
            Buf::Bool(_) => Some(Ty::Bool),
            Buf::Float(_) => Some(Ty::Float),
            Buf::Str { .. } => Some(Ty::Str),
        }
    }

    pub(super) fn intern(index: &mut HashMap<String, u32>, dict: &mut Vec<String>, s: &str) -> u32 {
        if let Some(&c) = index.get(s) {
            return c;
        }
        let c = dict.len() as u32;
        dict.push(s.to_string());
        index.insert(s.to_string(), c);
        c
    }
}

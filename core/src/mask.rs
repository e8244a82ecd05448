//! Source-position masks of an attention head: which key (source) positions `s` a query
//! row `t` keeps when a head's output is split by where it attends (the write-up's
//! "previous token", "last k tokens", "current token"). A mask and its complement together
//! keep every `(t, s)` exactly once, so the two parts of a split head sum to the head.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

/// Which source positions a query row keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceMask {
    /// Every source position.
    All,
    /// `s = t - 1`.
    Previous,
    /// `s = t`.
    Current,
    /// The last `n` positions up to and including the query: `t - n < s <= t`.
    Last(usize),
    /// Every position the inner mask does not keep.
    Not(Box<SourceMask>),
    /// Positions both masks keep (a part of a split head split again).
    Both(Box<SourceMask>, Box<SourceMask>),
}

/// A mask name that is not one of the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown source mask `{0}`; valid masks are `prev`, `cur`, `last{{n}}` (n ≥ 1, e.g. \
     `last3`) and `all`, each also as `~name` for its complement"
)]
pub struct UnknownMask(pub String);

/// Mask matrices by (mask, n), shared by every graph of the process.
type MatrixCache = Mutex<HashMap<(SourceMask, usize), Arc<Vec<f32>>>>;

impl SourceMask {
    /// Whether query row `t` keeps source position `s`.
    pub fn keeps(&self, t: usize, s: usize) -> bool {
        match self {
            SourceMask::All => true,
            SourceMask::Previous => s + 1 == t,
            SourceMask::Current => s == t,
            SourceMask::Last(n) => s <= t && t - s < *n,
            SourceMask::Not(inner) => !inner.keeps(t, s),
            SourceMask::Both(a, b) => a.keeps(t, s) && b.keeps(t, s),
        }
    }

    /// The mask as an `[n, n]` matrix of 1s (kept) and 0s, built once per (mask, n) and
    /// shared: recomputing masked heads would otherwise evaluate `keeps` n² times per head.
    pub fn matrix(&self, n: usize) -> Arc<Vec<f32>> {
        static CACHE: OnceLock<MatrixCache> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry((self.clone(), n)).or_insert_with(|| {
            Arc::new(
                (0..n * n)
                    .map(|i| if self.keeps(i / n, i % n) { 1.0 } else { 0.0 })
                    .collect(),
            )
        }))
    }

    /// Positions both `self` and `other` keep.
    pub fn and(&self, other: &SourceMask) -> SourceMask {
        match (self, other) {
            (SourceMask::All, m) | (m, SourceMask::All) => m.clone(),
            (a, b) => SourceMask::Both(Box::new(a.clone()), Box::new(b.clone())),
        }
    }

    /// The complement: keeps exactly what `self` drops (double complements cancel).
    pub fn complement(&self) -> SourceMask {
        match self {
            SourceMask::Not(inner) => (**inner).clone(),
            m => SourceMask::Not(Box::new(m.clone())),
        }
    }
}

impl fmt::Display for SourceMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceMask::All => f.write_str("all"),
            SourceMask::Previous => f.write_str("prev"),
            SourceMask::Current => f.write_str("cur"),
            SourceMask::Last(n) => write!(f, "last{n}"),
            SourceMask::Not(inner) => write!(f, "~{inner}"),
            SourceMask::Both(a, b) => write!(f, "{a}&{b}"),
        }
    }
}

impl FromStr for SourceMask {
    type Err = UnknownMask;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownMask(name.to_string());
        if let Some(inner) = name.strip_prefix('~') {
            return inner
                .parse::<SourceMask>()
                .map(|m| SourceMask::Not(Box::new(m)))
                .map_err(|_| unknown());
        }
        match name {
            "all" => Ok(SourceMask::All),
            "prev" => Ok(SourceMask::Previous),
            "cur" => Ok(SourceMask::Current),
            _ => {
                let digits = name.strip_prefix("last").ok_or_else(unknown)?;
                // `last+3` and `last03` would print differently from how they were written.
                if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
                    return Err(unknown());
                }
                match digits.parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(SourceMask::Last(n)),
                    _ => Err(unknown()),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod tests;

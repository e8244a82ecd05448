//! The `rows` of a node: which rows (sequence positions) of its parent's port it supplies.
//! The same list syntax names the hidden neurons of a `Neurons` rewrite's groups.

use crate::scrub::tree::Rows;

/// What is wrong with an index list (`rows`, or a neuron group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexError {
    /// `item` is not a number, range or `all`.
    NotAnIndex { item: String },
    /// `item` is a range with nothing in it.
    Empty { item: String },
    /// `index` is not below the bound.
    OutOfRange { index: usize },
    /// `index` is listed more than once.
    Twice { index: usize },
}

/// Parses an index list: `all` (`None`), or a comma-separated list of indices `3` and ranges
/// `2..5`, `2..=5`, each below `n`, in the order written.
pub(crate) fn parse_indices(text: &str, n: usize) -> Result<Option<Vec<usize>>, IndexError> {
    if text.trim() == "all" {
        return Ok(None);
    }
    let number = |s: &str| -> Result<usize, IndexError> {
        s.trim().parse().map_err(|_| IndexError::NotAnIndex {
            item: s.trim().to_string(),
        })
    };
    let mut out: Vec<usize> = Vec::new();
    for item in text.split(',') {
        let range = if let Some((a, b)) = item.split_once("..=") {
            number(a)?..number(b)?.saturating_add(1)
        } else if let Some((a, b)) = item.split_once("..") {
            number(a)?..number(b)?
        } else {
            let r = number(item)?;
            r..r.saturating_add(1)
        };
        if range.is_empty() {
            return Err(IndexError::Empty {
                item: item.trim().to_string(),
            });
        }
        // Checked before walking the range, so that a huge range fails at once.
        if range.end > n {
            return Err(IndexError::OutOfRange {
                index: range.start.max(n),
            });
        }
        for r in range {
            if out.contains(&r) {
                return Err(IndexError::Twice { index: r });
            }
            out.push(r);
        }
    }
    Ok(Some(out))
}

/// Parses a `rows` string: `all`, or a comma-separated list of rows `3` and ranges `2..5`,
/// `2..=5`, each row below `n`.
pub(crate) fn parse_rows(text: &str, n: usize) -> Result<Rows, String> {
    let expected = "write `all`, a row such as `3`, a range such as `2..5` or `2..=5`, or a \
                    comma-separated list of these such as `1,3,5..=7`";
    match parse_indices(text, n) {
        Ok(None) => Ok(Rows::All),
        Ok(Some(rows)) => Ok(Rows::Only(rows)),
        Err(IndexError::NotAnIndex { item }) => {
            Err(format!("rows `{text}`: `{item}` is not a row; {expected}"))
        }
        Err(IndexError::Empty { item }) => Err(format!("rows `{text}`: `{item}` contains no rows")),
        Err(IndexError::OutOfRange { index }) => Err(format!(
            "rows `{text}`: row {index} does not exist; values have {n} rows (0 to {})",
            n.saturating_sub(1)
        )),
        Err(IndexError::Twice { index }) => {
            Err(format!("rows `{text}`: row {index} is listed twice"))
        }
    }
}

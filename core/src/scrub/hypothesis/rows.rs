//! The `rows` of a node: which rows (sequence positions) of its parent's port it supplies.

use crate::scrub::tree::Rows;

/// Parses a `rows` string: `all`, or a comma-separated list of rows `3` and ranges `2..5`,
/// `2..=5`, each row below `n`.
pub(crate) fn parse_rows(text: &str, n: usize) -> Result<Rows, String> {
    if text.trim() == "all" {
        return Ok(Rows::All);
    }
    let expected = "write `all`, a row such as `3`, a range such as `2..5` or `2..=5`, or a \
                    comma-separated list of these such as `1,3,5..=7`";
    let number = |s: &str| -> Result<usize, String> {
        s.trim()
            .parse()
            .map_err(|_| format!("rows `{text}`: `{}` is not a row; {expected}", s.trim()))
    };
    let mut rows: Vec<usize> = Vec::new();
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
            return Err(format!("rows `{text}`: `{}` contains no rows", item.trim()));
        }
        for r in range {
            if r >= n {
                return Err(format!(
                    "rows `{text}`: row {r} does not exist; values have {n} rows (0 to {})",
                    n.saturating_sub(1)
                ));
            }
            if rows.contains(&r) {
                return Err(format!("rows `{text}`: row {r} is listed twice"));
            }
            rows.push(r);
        }
    }
    Ok(Rows::Only(rows))
}

//! Reading the text files people write (hypothesis files, model configs): bytes that are not
//! UTF-8 are reported at their offset, a leading byte-order mark (which some editors write) is
//! dropped, and RON nested past the parser's limit is reported as nesting, not as advice about
//! parser options.

use std::path::Path;

/// Deepest nesting of brackets the RON parser follows; each value inside brackets is one
/// level (a tree node in a hypothesis costs about three).
pub const NESTING_LIMIT: usize = 128;

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The file could not be read at all.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Bytes that are not UTF-8, the first of them at `offset`.
    #[error(transparent)]
    NotUtf8(#[from] NotUtf8),
}

/// The first byte of a file that is not UTF-8: its 0-based byte offset and the 1-based line
/// and column (in characters) where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not UTF-8 text (the bad byte is at byte offset {offset}); save the file as UTF-8")]
pub struct NotUtf8 {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

/// The text of the file at `path`, a leading byte-order mark dropped.
pub fn read(path: &Path) -> Result<String, TextError> {
    let bytes = std::fs::read(path)?;
    Ok(decode(&bytes)?.to_string())
}

/// `bytes` as UTF-8 text, a leading byte-order mark dropped.
pub fn decode(bytes: &[u8]) -> Result<&str, NotUtf8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(strip_bom(text)),
        Err(e) => {
            let offset = e.valid_up_to();
            let before = strip_bom(std::str::from_utf8(&bytes[..offset]).unwrap_or_default());
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            Err(NotUtf8 {
                offset,
                line,
                column,
            })
        }
    }
}

/// Where RON text failed to parse: 1-based line and column, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RonFailure {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses RON `text` (a leading byte-order mark dropped) with the project's options.
pub fn parse_ron<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, RonFailure> {
    ron_options()
        .from_str(strip_bom(text))
        .map_err(|e| RonFailure {
            line: e.span.start.line,
            column: e.span.start.col,
            message: ron_message(&e.code, e.span.start.line),
        })
}

/// `text` without a leading byte-order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// RON options with the nesting limit this module reports.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_recursion_limit(NESTING_LIMIT)
}

/// What a RON error means for the person who wrote the file (`line` is where ron stopped).
pub fn ron_message(code: &ron::Error, line: usize) -> String {
    match code {
        ron::Error::ExceededRecursionLimit => format!(
            "nesting deeper than {NESTING_LIMIT} at line {line}: brackets (or values inside \
             them) are nested more deeply than the parser reads"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_reported_at_its_offset_line_and_column() {
        let e = decode(b"ab\ncd\xffe").unwrap_err();
        assert_eq!(
            e,
            NotUtf8 {
                offset: 5,
                line: 2,
                column: 3
            }
        );
        assert!(e.to_string().contains("byte offset 5"), "{e}");
    }

    #[test]
    fn the_nesting_limit_is_reported_as_nesting() {
        let deep = format!(
            "{}{}",
            "[".repeat(NESTING_LIMIT + 1),
            "]".repeat(NESTING_LIMIT + 1)
        );
        let e = ron_options().from_str::<ron::Value>(&deep).unwrap_err();
        let m = ron_message(&e.code, e.span.start.line);
        assert_eq!(
            m,
            format!(
                "nesting deeper than {NESTING_LIMIT} at line 1: brackets (or values inside them) \
                 are nested more deeply than the parser reads"
            )
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        assert_eq!(decode("\u{feff}(a: 1)".as_bytes()).unwrap(), "(a: 1)");
        assert_eq!(strip_bom("x"), "x");
    }
}

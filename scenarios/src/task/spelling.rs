//! Spelling built-in hypothesis files for a task directory, where a per-position feature
//! column `c` is written `c[i]`.

/// `text` with every `name(x)` spelt `name[x]`, the task's spelling of a per-position
/// feature (`x` may be a `{i}` placeholder).
pub fn bracket_positions(text: &str, name: &str) -> String {
    let open = format!("{name}(");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        // Only a whole name: `horizon_at(` inside `horizon_adj_at(` does not count.
        let whole = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = &rest[at + open.len()..];
        match (whole, after.find(')')) {
            (true, Some(close)) => {
                out.push_str(&rest[..at]);
                out.push_str(&format!("{name}[{}]", &after[..close]));
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..at + open.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn per_position_features_are_respelt_with_brackets() {
        let t = r#"feature: Some("horizon_at({i})"), x: "horizon_adj_at(3) & horizon_at(4)""#;
        let t = super::bracket_positions(t, "horizon_at");
        assert_eq!(
            t,
            r#"feature: Some("horizon_at[{i}]"), x: "horizon_adj_at(3) & horizon_at[4]""#
        );
    }
}

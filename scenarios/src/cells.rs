//! How report cells show figures that may be undefined, the same in every table.

/// `p` as a percentage with `decimals` places, or "undefined" when the baselines give no
/// range to measure it in.
pub fn pct(p: Option<f64>, decimals: usize) -> String {
    p.map_or_else(|| "undefined".to_string(), |p| format!("{p:.decimals$}%"))
}

/// A loss with four places, or "—" when no sample gave one.
pub fn loss(l: Option<f64>) -> String {
    l.map_or_else(|| "—".to_string(), |l| format!("{l:.4}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn undefined_is_said_not_hidden() {
        assert_eq!(super::pct(Some(93.04), 1), "93.0%");
        assert_eq!(super::pct(Some(93.6), 0), "94%");
        assert_eq!(super::pct(None, 1), "undefined");
        assert_eq!(super::loss(None), "—");
        assert_eq!(super::loss(Some(0.12345)), "0.1235");
    }
}

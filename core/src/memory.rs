//! The process's memory budget. Plain-value caches are what grows with the number of
//! samples (every new datum a sample draws adds its plain values), so they are sized from
//! one budget the user sets (`scrub --memory-budget`) instead of fixed limits that add up
//! past a laptop's memory.

use std::sync::atomic::{AtomicU64, Ordering};

/// The default budget: with the model, the data and the batch buffers besides, the
/// documented tables stay within a 16 GB machine (README has the measured peaks).
pub const DEFAULT_BUDGET: u64 = 2 << 30;

/// The share of the budget the plain-value caches of a run hold together, in percent; with
/// the replays' and the batch's shares, the rest is for the model, the data and the allocator's slack.
const CACHE_PERCENT: u64 = 20;

static BUDGET: AtomicU64 = AtomicU64::new(DEFAULT_BUDGET);

/// The budget, in bytes.
pub fn budget() -> u64 {
    BUDGET.load(Ordering::Relaxed)
}

/// Sets the budget for the rest of the process (caches made afterwards follow it).
pub fn set_budget(bytes: u64) {
    BUDGET.store(bytes, Ordering::Relaxed);
}

/// The share of the budget one batch of samples may hold (its node values and the plain
/// values being computed), in percent.
const BATCH_PERCENT: u64 = 30;

/// The share of the budget a transformer graph's replays hold (each datum's per-block `z`
/// and MLP outputs, from which its plain values are rebuilt), in percent.
const REPLAY_PERCENT: u64 = 30;

/// Bytes a transformer graph's replays may hold.
pub fn replay_bytes() -> usize {
    (budget() / 100 * REPLAY_PERCENT) as usize
}

/// Bytes the plain-value caches of one run may hold together.
pub fn cache_bytes() -> usize {
    (budget() / 100 * CACHE_PERCENT) as usize
}

/// Bytes one batch of samples may hold: evaluation takes as many samples at a time as fit.
pub fn batch_bytes() -> usize {
    (budget() / 100 * BATCH_PERCENT) as usize
}

/// A size as a person writes it: `3G`, `512M`, `1.5GiB`, `800MB`, or plain bytes (units
/// are powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 3G, 512M, 1.5GiB)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use K, M, G or T)"
            ))
        }
    };
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= (16u64 << 20) as f64) {
        return Err(format!("`{text}`: the budget must be at least 16M"));
    }
    Ok(bytes as u64)
}

/// The process's peak resident memory so far, in bytes (Linux: `VmHWM`; elsewhere `None`).
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units_and_refuse_nonsense() {
        assert_eq!(parse_size("3G"), Ok(3 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size(" 800mb "), Ok(800 << 20));
        assert_eq!(parse_size("17179869184"), Ok(16 << 30));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("3Q").unwrap_err().contains("unknown unit `q`"));
        assert!(parse_size("1M").unwrap_err().contains("at least 16M"));
    }

    #[test]
    fn the_peak_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_resident_bytes().unwrap() > 1 << 20);
        }
    }
}

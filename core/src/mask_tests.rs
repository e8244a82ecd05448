//! Masks keep the positions their names say, partition the square with their complements,
//! and print as they parse.

use super::*;

#[test]
fn masks_keep_what_their_names_say() {
    let prev: SourceMask = "prev".parse().unwrap();
    let cur: SourceMask = "cur".parse().unwrap();
    let last3: SourceMask = "last3".parse().unwrap();
    assert!(prev.keeps(5, 4) && !prev.keeps(5, 5) && !prev.keeps(0, 0));
    assert!(cur.keeps(5, 5) && !cur.keeps(5, 4));
    let kept: Vec<usize> = (0..8).filter(|&s| last3.keeps(5, s)).collect();
    assert_eq!(kept, vec![3, 4, 5]);
    let kept: Vec<usize> = (0..8).filter(|&s| last3.keeps(1, s)).collect();
    assert_eq!(kept, vec![0, 1]);
}

#[test]
fn a_mask_and_its_complement_partition_every_pair() {
    for m in [
        SourceMask::All,
        SourceMask::Previous,
        SourceMask::Current,
        SourceMask::Last(1),
        SourceMask::Last(3),
        SourceMask::Not(Box::new(SourceMask::Previous)),
    ] {
        let c = m.complement();
        for t in 0..10 {
            for s in 0..10 {
                assert_ne!(m.keeps(t, s), c.keeps(t, s), "{m} at ({t}, {s})");
            }
        }
        assert_eq!(c.complement(), m);
    }
}

#[test]
fn names_round_trip_and_unknown_names_list_the_valid_ones() {
    for name in [
        "all", "prev", "cur", "last1", "last3", "last12", "~prev", "~last3",
    ] {
        let m: SourceMask = name.parse().unwrap();
        assert_eq!(m.to_string(), name);
    }
    for bad in [
        "", "previous", "last", "last0", "last03", "last-1", "~", "~~x", "next",
    ] {
        let e = bad.parse::<SourceMask>().unwrap_err().to_string();
        assert!(
            e.contains(&format!("`{bad}`")) && e.contains("`prev`") && e.contains("`last3`"),
            "{e}"
        );
    }
}

#[test]
fn huge_windows_keep_every_earlier_position_without_overflow() {
    let m: SourceMask = format!("last{}", usize::MAX).parse().unwrap();
    assert!(m.keeps(5, 0) && m.keeps(5, 5) && !m.keeps(5, 6));
}

//! Cutting a ragged batch into chunks that fit the GPU workspace: whole sequences only,
//! and for readouts, each chunk carries the targets of its sequences.

use std::ops::Range;

/// Most rows, sequences and targets one chunk may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Token rows.
    pub rows: usize,
    /// Sequences.
    pub seqs: usize,
    /// Readout targets.
    pub targets: usize,
}

/// One piece of work: sequences `seqs` (rows `rows`) and the targets at positions
/// `targets` of the by-sequence target order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Sequence indices in the batch.
    pub seqs: Range<usize>,
    /// Row range in the batch.
    pub rows: Range<usize>,
    /// Range into the target order returned by [`plan`].
    pub targets: Range<usize>,
}

/// Plans chunks over sequences with row offsets `offsets` and targets on sequences
/// `target_seqs`. Returns the chunks and the target indices sorted (stably) by sequence.
/// A sequence whose targets alone exceed `caps.targets` is repeated across several chunks,
/// each with a slice of its targets. Every sequence must fit `caps.rows` (callers check).
pub fn plan(offsets: &[usize], target_seqs: &[usize], caps: Caps) -> (Vec<Chunk>, Vec<usize>) {
    let n_seqs = offsets.len().saturating_sub(1);
    let mut order: Vec<usize> = (0..target_seqs.len()).collect();
    order.sort_by_key(|&i| target_seqs[i]);
    // Number of targets on each sequence.
    let mut per_seq = vec![0usize; n_seqs];
    for &s in target_seqs {
        per_seq[s] += 1;
    }
    let mut chunks = Vec::new();
    let (mut s0, mut t0) = (0usize, 0usize);
    let (mut s, mut t) = (0usize, 0usize);
    let close = |chunks: &mut Vec<Chunk>, s0: usize, s1: usize, t0: usize, t1: usize| {
        if s1 > s0 {
            chunks.push(Chunk {
                seqs: s0..s1,
                rows: offsets[s0]..offsets[s1],
                targets: t0..t1,
            });
        }
    };
    while s < n_seqs {
        let rows = offsets[s + 1] - offsets[s0];
        let fits =
            rows <= caps.rows && s + 1 - s0 <= caps.seqs && t + per_seq[s] - t0 <= caps.targets;
        if fits {
            t += per_seq[s];
            s += 1;
            continue;
        }
        if s > s0 {
            close(&mut chunks, s0, s, t0, t);
            s0 = s;
            t0 = t;
            continue;
        }
        // A lone sequence that does not fit: with more targets than a chunk holds, its
        // targets are split; otherwise (callers prevent this) it goes alone regardless.
        let end = t + per_seq[s];
        if t == end {
            close(&mut chunks, s, s + 1, t, t);
        }
        while t < end {
            let take = caps.targets.max(1).min(end - t);
            close(&mut chunks, s, s + 1, t, t + take);
            t += take;
        }
        s += 1;
        s0 = s;
        t0 = t;
    }
    close(&mut chunks, s0, s, t0, t);
    (chunks, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(lens: &[usize]) -> Vec<usize> {
        let mut o = vec![0];
        for l in lens {
            o.push(o.last().unwrap() + l);
        }
        o
    }

    fn check_cover(chunks: &[Chunk], n_seqs: usize, n_targets: usize, caps: Caps, off: &[usize]) {
        let mut next_seq = 0;
        let mut next_t = 0;
        for c in chunks {
            assert!(
                c.rows.len() <= caps.rows
                    && c.seqs.len() <= caps.seqs
                    && c.targets.len() <= caps.targets,
                "{c:?}"
            );
            assert_eq!(c.rows, off[c.seqs.start]..off[c.seqs.end]);
            assert!(
                c.seqs.start == next_seq || c.seqs.start + 1 == next_seq,
                "{c:?}"
            );
            next_seq = c.seqs.end;
            assert_eq!(c.targets.start, next_t);
            next_t = c.targets.end;
        }
        assert_eq!((next_seq, next_t), (n_seqs, n_targets));
    }

    #[test]
    fn chunks_respect_every_cap_and_cover_everything() {
        let lens = [3, 1, 5, 5, 2, 7, 1, 1, 4];
        let off = offsets(&lens);
        let targets: Vec<usize> = vec![8, 0, 2, 2, 5, 0, 3];
        for caps in [
            Caps {
                rows: 7,
                seqs: 100,
                targets: 100,
            },
            Caps {
                rows: 100,
                seqs: 2,
                targets: 100,
            },
            Caps {
                rows: 100,
                seqs: 100,
                targets: 2,
            },
            Caps {
                rows: 7,
                seqs: 3,
                targets: 1,
            },
        ] {
            let (chunks, order) = plan(&off, &targets, caps);
            check_cover(&chunks, lens.len(), targets.len(), caps, &off);
            for c in &chunks {
                for &ti in &order[c.targets.clone()] {
                    assert!(c.seqs.contains(&targets[ti]), "{caps:?} {c:?} target {ti}");
                }
            }
        }
    }

    #[test]
    fn a_sequence_with_too_many_targets_is_repeated() {
        let off = offsets(&[2, 3]);
        let targets = vec![1, 1, 1, 1, 1, 0];
        let caps = Caps {
            rows: 10,
            seqs: 10,
            targets: 2,
        };
        let (chunks, order) = plan(&off, &targets, caps);
        check_cover(&chunks, 2, 6, caps, &off);
        let ones: Vec<_> = chunks.iter().filter(|c| c.seqs == (1..2)).collect();
        assert_eq!(ones.len(), 3, "{chunks:?}");
        assert_eq!(order, vec![5, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn no_targets_splits_by_rows_only() {
        let off = offsets(&[4, 4, 4, 4]);
        let (chunks, _) = plan(
            &off,
            &[],
            Caps {
                rows: 8,
                seqs: 8,
                targets: 0,
            },
        );
        assert_eq!(
            chunks.iter().map(|c| c.seqs.clone()).collect::<Vec<_>>(),
            vec![0..2, 2..4]
        );
    }
}

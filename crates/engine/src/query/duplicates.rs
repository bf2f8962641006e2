//! Groups of duplicates and bursts, from the stored vectors (no new embedding pass).
//!
//! Every pair of photos at least as similar as a threshold is found over the unit vectors
//! (`all_pairs.rs`), up to a number of pairs in proportion to the photos: a threshold low
//! enough to pair unrelated photos pairs most of the n²/2 (20,000 photos at 0.3 took 5.8 GB),
//! so the search stops there instead. Groups are then formed around a keeper, and every
//! member must be close enough to *its keeper*: A≈B and B≈C never put A and C together unless
//! A≈C too (no chaining through a middle photo).

use rayon::prelude::*;
use std::cmp::Ordering;
use std::sync::Mutex;

/// The most pairs kept, per photo: the neighbour lists then take 4 KB a photo (16 bytes a
/// pair; up to twice that while they grow), about what the photo's vector takes (5 KB). Only
/// a threshold that pairs unrelated photos comes near it: the "similar" level is the 99.9th
/// percentile of unrelated pairs, so one in 1,000 qualifies, 256 a photo at 500,000 photos.
pub const MAX_PAIRS_PER_PHOTO: usize = 256;

/// For each row, the other rows at least `threshold` similar to it, with the similarity,
/// sorted by row; `None` as soon as there are more than `max_pairs` such pairs (the search
/// stops there, and what it found is dropped).
pub fn neighbours(
    data: &[f32],
    dim: usize,
    threshold: f32,
    max_pairs: usize,
) -> Option<Vec<Vec<(u32, f32)>>> {
    let n = data.len().checked_div(dim).unwrap_or(0);
    let kept = Mutex::new((vec![Vec::new(); n], 0usize));
    let complete = crate::query::all_pairs::at_least(data, dim, threshold, &|pairs| {
        let mut kept = kept.lock().expect("no panic while the lists are filled");
        let (lists, count) = &mut *kept;
        *count += pairs.len();
        if *count > max_pairs {
            return false;
        }
        for (i, j, s) in pairs {
            lists[i as usize].push((j, s));
            lists[j as usize].push((i, s));
        }
        true
    });
    if !complete {
        return None;
    }
    let (mut lists, _) = kept
        .into_inner()
        .expect("no panic while the lists were filled");
    lists
        .par_iter_mut()
        .for_each(|l| l.sort_by_key(|&(j, _)| j));
    Some(lists)
}

/// The neighbour lists kept to those at least `threshold` similar.
pub fn at_least(lists: &[Vec<(u32, f32)>], threshold: f32) -> Vec<Vec<(u32, f32)>> {
    lists
        .iter()
        .map(|l| l.iter().copied().filter(|&(_, s)| s >= threshold).collect())
        .collect()
}

/// One group: its keeper and the other members with their similarity to the keeper, best
/// first (rows of the vectors).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The row kept.
    pub keeper: usize,
    /// The other rows, each with its similarity to the keeper.
    pub members: Vec<(usize, f32)>,
}

fn similarity(lists: &[Vec<(u32, f32)>], a: usize, b: usize) -> Option<f32> {
    let l = &lists[a];
    l.binary_search_by_key(&(b as u32), |&(j, _)| j)
        .ok()
        .map(|i| l[i].1)
}

/// Groups the rows: the most connected photo not yet grouped gathers its neighbours not yet
/// grouped; the best of them by `better` (the keeper rule) becomes the keeper, and only those
/// close enough to the keeper stay. Largest groups first.
pub fn group(lists: &[Vec<(u32, f32)>], better: impl Fn(usize, usize) -> Ordering) -> Vec<Group> {
    group_apart(lists, better, |_, _| false)
}

/// [`group`], where two rows that `apart` says must stay apart (the person said they are not
/// duplicates) never share a group, even through a third photo close to both.
pub fn group_apart(
    lists: &[Vec<(u32, f32)>],
    better: impl Fn(usize, usize) -> Ordering,
    apart: impl Fn(usize, usize) -> bool,
) -> Vec<Group> {
    let mut order: Vec<usize> = (0..lists.len()).filter(|&i| !lists[i].is_empty()).collect();
    order.sort_by(|&a, &b| lists[b].len().cmp(&lists[a].len()).then(a.cmp(&b)));
    let mut taken = vec![false; lists.len()];
    let mut groups = Vec::new();
    for centre in order {
        if taken[centre] {
            continue;
        }
        let candidates: Vec<usize> = std::iter::once(centre)
            .chain(lists[centre].iter().map(|&(j, _)| j as usize))
            .filter(|&j| !taken[j])
            .collect();
        if candidates.len() < 2 {
            continue;
        }
        let best = *candidates
            .iter()
            .min_by(|&&a, &&b| better(a, b))
            .expect("two candidates");
        let mut keeper = best;
        let mut members: Vec<(usize, f32)> = candidates
            .iter()
            .filter(|&&j| j != keeper)
            .filter_map(|&j| similarity(lists, keeper, j).map(|s| (j, s)))
            .collect();
        if members.is_empty() {
            // The best photo is only close to the centre: the centre keeps the group.
            keeper = centre;
            members = candidates[1..]
                .iter()
                .filter_map(|&j| similarity(lists, keeper, j).map(|s| (j, s)))
                .collect();
        }
        members.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // Most alike first, a member joins unless it is kept apart from one that did.
        let mut joined: Vec<(usize, f32)> = Vec::with_capacity(members.len());
        for m in members {
            if !joined.iter().any(|&(j, _)| apart(j, m.0)) {
                joined.push(m);
            }
        }
        let members = joined;
        if members.is_empty() {
            continue;
        }
        taken[keeper] = true;
        for &(j, _) in &members {
            taken[j] = true;
        }
        groups.push(Group { keeper, members });
    }
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.keeper.cmp(&b.keeper))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        crate::vector::normalize(&mut v);
        v
    }

    #[test]
    fn the_blocked_product_finds_exactly_the_pairs_above_the_threshold() {
        let dim = 8;
        let data = crate::query::nearest::tests::random_units(1024 + 300, dim, 7);
        let lists = neighbours(&data, dim, 0.9, usize::MAX).unwrap();
        let n = data.len() / dim;
        for i in (0..n).step_by(97) {
            let want: Vec<u32> = (0..n)
                .filter(|&j| {
                    j != i
                        && crate::vector::dot(&data[i * dim..][..dim], &data[j * dim..][..dim])
                            >= 0.9
                })
                .map(|j| j as u32)
                .collect();
            let got: Vec<u32> = lists[i].iter().map(|&(j, _)| j).collect();
            // Rounding differences between the two products may only touch the threshold.
            let differ = want.len().abs_diff(got.len());
            assert!(differ <= 1, "row {i}: {want:?} vs {got:?}");
        }
    }

    #[test]
    fn the_search_stops_at_the_most_pairs_asked_for() {
        let (n, dim) = (1024 + 300, 8);
        let data = crate::query::nearest::tests::random_units(n, dim, 7);
        // Every pair is at least −1 alike.
        let all = n * (n - 1) / 2;
        let lists = neighbours(&data, dim, -1.0, all).unwrap();
        assert_eq!(lists.iter().map(Vec::len).sum::<usize>(), 2 * all);
        assert!(neighbours(&data, dim, -1.0, all - 1).is_none());
        assert!(neighbours(&data, dim, -1.0, 10).is_none());
    }

    #[test]
    fn groups_do_not_chain_through_a_middle_photo() {
        // A≈B (0.9), B≈C (0.9), A and C only 0.62 apart; the threshold is 0.8.
        let a = unit(&[1.0, 0.0, 0.0]);
        let b = unit(&[0.9, 0.436, 0.0]);
        let c = unit(&[0.62, 0.785, 0.0]);
        let d = unit(&[0.0, 0.0, 1.0]);
        let data: Vec<f32> = [a, b, c, d].concat();
        let lists = neighbours(&data, 3, 0.8, usize::MAX).unwrap();
        assert_eq!(lists[1].len(), 2, "B is close to both");
        assert!(similarity(&lists, 0, 2).is_none(), "A and C are not");
        // The keeper rule prefers A (row 0), then C.
        let groups = group(&lists, |x, y| x.cmp(&y));
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].keeper, 0);
        assert_eq!(
            groups[0].members.iter().map(|m| m.0).collect::<Vec<_>>(),
            [1]
        );
        // Preferring C instead: C keeps B, and A is alone.
        let groups = group(&lists, |x, y| y.cmp(&x));
        assert_eq!(groups[0].keeper, 2);
        assert_eq!(
            groups[0].members.iter().map(|m| m.0).collect::<Vec<_>>(),
            [1]
        );
    }

    #[test]
    fn rows_kept_apart_never_share_a_group_even_through_a_third() {
        // Rows 0, 1 and 2 are all alike; 2 is the best keeper; 0 and 1 were said apart.
        let lists = vec![
            vec![(1, 0.95), (2, 0.97)],
            vec![(0, 0.95), (2, 0.96)],
            vec![(0, 0.97), (1, 0.96)],
        ];
        let keeper_first = |a: usize, b: usize| b.cmp(&a);
        let apart = |a: usize, b: usize| (a.min(b), a.max(b)) == (0, 1);
        let groups = group_apart(&lists, keeper_first, apart);
        assert_eq!(
            groups,
            vec![Group {
                keeper: 2,
                members: vec![(0, 0.97)]
            }]
        );
        assert_eq!(group(&lists, keeper_first)[0].members.len(), 2);
    }
}

//! The `n` rows with the largest keys, kept in bounded memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Keeps the `n` items with the largest keys (ties: the first pushed wins).
pub struct Top<T> {
    n: usize,
    seq: u64,
    heap: BinaryHeap<Reverse<Keyed<T>>>,
}

/// (key, first pushed first on ties, the item).
type Keyed<T> = (u64, Reverse<u64>, Slot<T>);

/// An item that takes no part in the order.
struct Slot<T>(T);

impl<T> PartialEq for Slot<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Slot<T> {}
impl<T> PartialOrd for Slot<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Slot<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T> Top<T> {
    pub fn new(n: usize) -> Top<T> {
        Top {
            n,
            seq: 0,
            heap: BinaryHeap::with_capacity(n + 1),
        }
    }

    pub fn push(&mut self, key: u64, item: T) {
        if self.n == 0 {
            return;
        }
        self.seq += 1;
        self.heap
            .push(Reverse((key, Reverse(self.seq), Slot(item))));
        if self.heap.len() > self.n {
            self.heap.pop();
        }
    }

    /// The items, largest key first.
    pub fn into_sorted(self) -> Vec<T> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse((_, _, Slot(item)))| item)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_largest_first_pushed_on_ties() {
        let mut t = Top::new(3);
        for (k, v) in [(5, "a"), (9, "b"), (1, "c"), (9, "d"), (7, "e"), (5, "f")] {
            t.push(k, v);
        }
        assert_eq!(t.into_sorted(), ["b", "d", "e"]);
    }
}

//! Graph nodes waiting their turn, newest first, without a heap.
//!
//! Every node carries `seq`, a per-thread Lamport clock larger than its inputs' (see
//! `node.rs`). Work that must visit a graph's nodes newest first (the backward pass, and
//! a graph freed in the reverse of the order it was made) keeps the waiting nodes in a
//! dense table indexed by `top − seq`, `top` being the newest node of the graph: the
//! nodes of one graph have nearby `seq`s, so the table is small and indexing it costs
//! nothing. A node that does not fit (made long before the graph, or by another thread
//! whose clock ran ahead) is the caller's to keep elsewhere.

/// Slots allowed up to this many, plus four times those in use: enough for any one graph
/// built in one go, while a node from long ago does not stretch the table.
const MIN_WINDOW: usize = 4096;

/// Items by `top − seq`, taken out newest (smallest index) first.
pub(crate) struct SeqTable<T> {
    top: u64,
    slots: Vec<Option<T>>,
    /// Every slot below `cursor` is empty.
    cursor: usize,
}

impl<T> SeqTable<T> {
    /// A table for nodes no newer than `top`, in the memory of `slots` (an empty vector
    /// whose capacity is reused).
    pub(crate) fn new(top: u64, slots: Vec<Option<T>>) -> Self {
        debug_assert!(slots.is_empty());
        SeqTable {
            top,
            slots,
            cursor: 0,
        }
    }

    /// The slot of the node of `seq`, or `None` if it does not fit the table.
    #[inline]
    pub(crate) fn slot(&mut self, seq: u64) -> Option<&mut Option<T>> {
        // A `seq` above the top wraps to a distance beyond any window.
        let distance = self.top.wrapping_sub(seq);
        if distance >= (MIN_WINDOW + 4 * self.slots.len()) as u64 {
            return None;
        }
        let j = distance as usize;
        if j >= self.slots.len() {
            self.slots.resize_with(j + 1, || None);
        }
        self.cursor = self.cursor.min(j);
        Some(&mut self.slots[j])
    }

    /// The `seq` of the newest item waiting.
    #[inline]
    pub(crate) fn newest_seq(&mut self) -> Option<u64> {
        while self.cursor < self.slots.len() && self.slots[self.cursor].is_none() {
            self.cursor += 1;
        }
        (self.cursor < self.slots.len()).then(|| self.top - self.cursor as u64)
    }

    /// Takes out the newest item waiting.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        while let Some(slot) = self.slots.get_mut(self.cursor) {
            if let Some(item) = slot.take() {
                return Some(item);
            }
            self.cursor += 1;
        }
        None
    }

    /// The table's memory, for the next table.
    pub(crate) fn into_slots(self) -> Vec<Option<T>> {
        self.slots
    }
}

#[cfg(test)]
mod tests {
    use super::SeqTable;

    #[test]
    fn items_come_out_newest_first_and_far_ones_do_not_fit() {
        let mut table = SeqTable::new(10_000, Vec::new());
        for seq in [9_990, 10_000, 9_995] {
            *table.slot(seq).expect("near the top") = Some(seq);
        }
        assert!(table.slot(10_001).is_none(), "newer than the top");
        assert!(table.slot(1).is_none(), "far outside the window");
        assert_eq!(table.newest_seq(), Some(10_000));
        let order: Vec<u64> = std::iter::from_fn(|| table.pop()).collect();
        assert_eq!(order, [10_000, 9_995, 9_990]);
        // A slot filled again behind the cursor is found again.
        *table.slot(9_999).unwrap() = Some(9_999);
        assert_eq!(table.pop(), Some(9_999));
        assert_eq!(table.pop(), None);
    }
}

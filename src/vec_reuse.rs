//! Keeping a vector's memory across uses whose element types differ only in lifetimes.
//!
//! The backward pass and the graph drop each keep a large table from call to call (per
//! thread): a table is as large as a graph's span of `seq`s (a megabyte or two for a
//! graph of 65,000 nodes), and allocating it afresh each time cost page faults and cache
//! misses on every step of a training loop. The backward pass's entries borrow from one
//! graph, so its kept table changes type between uses ([`relabel`]).

use std::any::Any;
use std::cell::RefCell;

thread_local! {
    /// The kept tables of this thread, at most one per type.
    static KEPT: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// The most slots a kept table may have: a table for a graph of a million nodes or so.
const MAX_KEPT: usize = 1 << 22;

/// An empty table with the capacity of the last one of its type [`keep`] was given on this
/// thread (none if there is none, or if this thread's tables are being torn down).
pub(crate) fn take_kept<T: 'static>() -> Vec<T> {
    KEPT.try_with(|kept| {
        let mut kept = kept.try_borrow_mut().ok()?;
        let i = kept.iter().position(|t| t.is::<Vec<T>>())?;
        kept.swap_remove(i).downcast::<Vec<T>>().ok()
    })
    .ok()
    .flatten()
    .map(|table| *table)
    .unwrap_or_default()
}

/// Empties `table` and keeps its memory for the next [`take_kept`] of its type on this
/// thread (unless it is larger than `MAX_KEPT` slots).
pub(crate) fn keep<T: 'static>(mut table: Vec<T>) {
    if table.capacity() == 0 || table.capacity() > MAX_KEPT {
        return;
    }
    table.clear();
    let _ = KEPT.try_with(|kept| {
        if let Ok(mut kept) = kept.try_borrow_mut() {
            kept.push(Box::new(table));
        }
    });
}

/// Empties `table` and returns its memory as a vector of `U`, a type of the same layout
/// (the same entries borrowing for another lifetime, or pointers as addresses).
/// Collecting a vector's own iterator into a type of the same size and alignment reuses
/// its allocation, so the capacity survives (checked by a test); were it not to, a kept
/// table would only lose its effect, never its correctness.
pub(crate) fn relabel<T, U>(mut table: Vec<T>) -> Vec<U> {
    table.clear();
    table
        .into_iter()
        .map(|_| unreachable!("the table was emptied"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::relabel;

    #[test]
    fn relabel_keeps_the_allocation() {
        let text = String::from("borrowed");
        let mut table: Vec<Option<(&str, u64)>> = Vec::with_capacity(1000);
        table.push(Some((&text, 1)));
        let pointer = table.as_ptr() as usize;
        let kept: Vec<Option<(&'static str, u64)>> = relabel(table);
        assert!(kept.is_empty());
        assert_eq!(kept.capacity(), 1000);
        assert_eq!(kept.as_ptr() as usize, pointer);
    }
}

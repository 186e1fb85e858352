//! Keeping a vector's memory across uses whose element types differ only in lifetimes.
//!
//! The backward pass and the graph drop each keep a large table from call to call (per
//! thread), because allocating it afresh each time cost page faults and cache misses on
//! every step of a training loop. Their entries borrow from, or point into, one graph, so
//! a kept table must change type between uses.

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

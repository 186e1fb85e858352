//! Asking the CPU for a graph's nodes before a pass reaches them.
//!
//! The backward pass and the drop of a graph visit its nodes newest first, and on a scalar
//! graph, whose nodes hold one number each, most of their time went to cache misses on the
//! nodes they reached next. Pooled nodes lie in memory in the order they were made (see
//! `node_pool.rs`: each step's graph reuses the allocations of the last in the same
//! order), so the nodes a pass reaches soon lie a little below the one it is at. Asking for
//! that memory early hides most of the wait: on W5 (65,000 scalar nodes per step) the
//! backward pass went from about 19 to 15 ns per node and the drop from about 19.5 to 18
//! (see BENCHMARKS.md, stop 19). Where the guess about the layout is wrong, the hint costs
//! two instructions and fetches nothing useful.

use crate::backend::Backend;
use crate::node::Node;
use crate::node_pool;

/// How far below the node a pass is at to ask for: about 70 scalar nodes (112-byte
/// allocations). Distances from 1 to 8 KiB all helped on W5; the farthest helped most, and
/// 16 KiB less.
const AHEAD_BYTES: usize = 8192;

/// Hints that the pass at `node` will soon reach the nodes made just before it, where
/// nodes are pooled (elsewhere, nothing is known of their layout).
#[inline(always)]
pub(crate) fn nodes_below<B: Backend>(node: *const Node<B>) {
    if node_pool::enabled::<B>() {
        // A node spans two cache lines.
        let ahead = node.cast::<u8>().wrapping_sub(AHEAD_BYTES);
        prefetch(ahead);
        prefetch(ahead.wrapping_add(64));
    }
}

/// Asks for the cache line holding `address` to be loaded. Never reads or writes memory,
/// whatever the address.
#[inline(always)]
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint: it accesses no memory in the sense of the
        // memory model and never faults, whatever the address (Intel SDM, PREFETCHh), and
        // the address was computed with wrapping arithmetic, defined for any pointer. The
        // intrinsic needs SSE, which every x86-64 CPU has.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(address.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

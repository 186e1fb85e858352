//! Reusing the allocations of freed op nodes on backends whose values are plain numbers.
//!
//! A scalar graph allocates one node per op and frees them all when a training step's loss
//! is dropped: 65,000 nodes per W5 step. Through the system allocator that cost about a
//! third of the instructions of the step (glibc's `malloc`, `free`, and the consolidation
//! of its fast bins that the next large allocation triggers). Here a dropped graph keeps
//! its op nodes' allocations in a per-thread pool instead, and new op nodes are written
//! into them.
//!
//! Order matters as much as cost: walking a graph is fast when its nodes lie in memory in
//! the order they were made. Graphs are freed newest node first (see `node.rs`), so the
//! pool, last in first out, hands the oldest node's memory out first, and the next graph
//! lies in memory as the last one did.
//!
//! Only nodes whose value owns no memory are pooled (the scalar backend's numbers): a
//! pooled node then holds nothing but its own allocation. A tensor backend's nodes are
//! few and large, and their arrays must be freed at once.

use crate::backend::Backend;
use crate::node::{unique_mut, Node};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::Arc;

/// The most freed nodes kept per thread and backend: 2¹⁸, about 30 MiB of scalar nodes.
/// A larger graph's remaining nodes go back to the system allocator.
pub(crate) const CAPACITY: usize = 1 << 18;

/// Freed op nodes of one backend, each the only handle on its allocation, retired (no
/// inputs, no captured derivative), most recently freed last.
pub(crate) type Pool<B> = Vec<Arc<Node<B>>>;

thread_local! {
    /// One pool per backend type used on this thread, each beside its type's id.
    static POOLS: RefCell<Vec<(TypeId, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

/// Whether op nodes of backend `B` are pooled.
pub(crate) const fn enabled<B: Backend>() -> bool {
    !std::mem::needs_drop::<B::Tensor>()
}

/// Runs `f` on this thread's pool for `B`, if the thread is not being torn down and the
/// pool is not already borrowed.
fn with_pool<B: Backend, R>(f: impl FnOnce(&mut Pool<B>) -> R) -> Option<R> {
    let id = TypeId::of::<Pool<B>>();
    POOLS
        .try_with(|pools| {
            let mut pools = pools.try_borrow_mut().ok()?;
            if let Some((_, pool)) = pools.iter_mut().find(|(pool_id, _)| *pool_id == id) {
                let pool: *mut dyn Any = &mut **pool;
                // SAFETY: the id beside each box is that of the box's contents (see the
                // push below), so this box holds a `Pool<B>`. `downcast_mut` would check
                // the id again through the vtable: a call per node made.
                return Some(f(unsafe { &mut *pool.cast::<Pool<B>>() }));
            }
            let mut pool = Pool::<B>::new();
            let result = f(&mut pool);
            pools.push((id, Box::new(pool)));
            Some(result)
        })
        .ok()
        .flatten()
}

/// Puts `node` in an allocation: a pooled one if there is one, else a new one.
pub(crate) fn allocate<B: Backend>(node: Node<B>) -> Arc<Node<B>> {
    if enabled::<B>() {
        if let Some(mut slot) = with_pool::<B, _>(Vec::pop).flatten() {
            if let Some(place) = unique_mut(&mut slot) {
                // A retired node owns no memory (see `Node::retire`), so forgetting it
                // loses nothing and skips running its drop for nothing.
                std::mem::forget(std::mem::replace(place, node));
                return slot;
            }
        }
    }
    Arc::new(node)
}

/// Takes this thread's pool for `B` out, so that a drop can fill it without a lookup per
/// node. Empty if `B` is not pooled.
pub(crate) fn take<B: Backend>() -> Pool<B> {
    if !enabled::<B>() {
        return Pool::new();
    }
    with_pool::<B, _>(std::mem::take).unwrap_or_default()
}

/// Returns a pool taken by [`take`], keeping at most [`CAPACITY`] nodes.
pub(crate) fn give_back<B: Backend>(mut pool: Pool<B>) {
    if pool.is_empty() {
        return;
    }
    let rest = with_pool::<B, _>(|kept| {
        if kept.is_empty() {
            std::mem::swap(kept, &mut pool);
        } else {
            let room = CAPACITY.saturating_sub(kept.len());
            kept.extend(pool.drain(..room.min(pool.len())));
        }
        pool
    });
    // Nodes beyond the capacity, or a pool the thread can no longer keep, are freed here,
    // outside the borrow.
    drop(rest);
}

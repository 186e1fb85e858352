//! The process's resident memory, for the memory checks (benches/memory_w1.rs and
//! tests/memory.rs).

/// The resident set size in bytes, from `VmRSS` in /proc/self/status (reported in kB, so
/// the page size does not matter); `None` where /proc is not available.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

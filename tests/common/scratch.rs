//! A scratch directory per test, for the tests that write files (checkpoints, IDX files).
//! Included on its own (`#[path]`), so that those tests need not compile the fixture
//! support in `common`.

use std::path::PathBuf;

/// A fresh, empty directory for the test `name` of this test binary and process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ferrograd-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

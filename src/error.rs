//! The error policy of ferrograd.
//!
//! Two kinds of failure, treated differently:
//!
//! - **Programming errors panic.** Shapes that do not broadcast, a matrix product whose
//!   inner dimensions differ, an axis out of range: these are bugs in the calling code, and
//!   the panic names the op, the shapes involved and the caller's line (every op is
//!   `#[track_caller]`). This keeps ordinary arithmetic free of `?` and `unwrap`.
//! - **Bad input returns a typed [`Error`].** Data whose length does not match its shape,
//!   indices out of range, files that cannot be read: anything that depends on data from
//!   outside the program returns a [`Result`] the caller can handle.

use std::fmt;

/// The result type of fallible ferrograd operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with input data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A buffer's length does not match the number of elements of the shape given with it.
    LengthMismatch {
        /// The operation that was asked for.
        op: &'static str,
        /// The shape given.
        shape: Vec<usize>,
        /// The number of elements that shape holds.
        expected: usize,
        /// The length of the buffer given.
        got: usize,
    },
    /// The backend cannot hold a tensor of this shape (the scalar backend holds only rank 0).
    UnsupportedShape {
        /// The backend.
        backend: &'static str,
        /// The shape asked for.
        shape: Vec<usize>,
    },
    /// An index is outside the dimension it indexes.
    IndexOutOfRange {
        /// The operation that was asked for.
        op: &'static str,
        /// The offending index.
        index: i64,
        /// The size of the indexed dimension.
        size: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                op,
                shape,
                expected,
                got,
            } => write!(
                f,
                "{op}: shape {shape:?} holds {expected} elements but {got} were given"
            ),
            Error::UnsupportedShape { backend, shape } => {
                write!(f, "the {backend} backend cannot hold shape {shape:?}")
            }
            Error::IndexOutOfRange { op, index, size } => {
                write!(
                    f,
                    "{op}: index {index} is out of range for a dimension of size {size}"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

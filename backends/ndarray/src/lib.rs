//! The n-dimensional tensor backend of ferrograd (in progress).

#![warn(missing_docs)]

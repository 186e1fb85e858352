//! Nothing here: see benches/sgemm.rs.

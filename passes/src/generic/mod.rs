//! Dialect-independent passes.
pub mod canonicalize;
pub mod cse;
pub mod dce;
pub mod print_op_stats;

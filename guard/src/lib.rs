//! `hailo-guard`: the rules every reader of untrusted input follows, in one place.
//!
//! Model files, archives, model scripts and IR text come from users and the internet; a
//! hostile or damaged one must end in a clear error, never in an abort, a stack overflow, a
//! hang or a read outside the model. [`limits`] holds the size and nesting budgets the
//! readers check before they allocate or recurse; [`files`] resolves the paths a model or
//! script names (external data, calibration directories, NMS configs) inside the model's
//! directory and opens regular files only. The crate has no project dependencies so that
//! every reader, down to the model-script parser, can use it.

pub mod files;
pub mod limits;

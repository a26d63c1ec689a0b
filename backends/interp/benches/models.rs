//! Placeholder until the model benchmark lands (created by the lead to unblock the workspace build).
fn main() {}

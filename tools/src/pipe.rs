//! Writes to a closed pipe end the process quietly.
//!
//! Rust ignores `SIGPIPE`, so `println!` to a closed pipe (`hailo har info x.har | head -1`)
//! panics with "failed printing to stdout: Broken pipe" and exit 101. A Unix tool instead
//! dies of the signal without a word, and the shell reports the pipeline's status as usual.
//! Both binaries call [`restore_sigpipe`] first thing, which covers every print of either.

/// Restores the default action of `SIGPIPE` (terminate quietly).
pub fn restore_sigpipe() {
    // SAFETY: called at the start of `main`, before any thread exists; setting a signal's
    // disposition to SIG_DFL has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

//! Hooks for ops with a hand-written textual form.
//!
//! Most ops use the default custom form or the generic form; ops such as
//! `builtin.graph` implement [`CustomSyntax`] to print and parse their own
//! shape with the public helpers of [`crate::printer::Printer`] and
//! [`crate::parser::Parser`].

use crate::module::OpId;
use crate::parser::{OpState, PResult, Parser};
use crate::printer::Printer;

pub trait CustomSyntax: Sync {
    /// Prints everything after the op name (the printer has already written `%results = name`).
    fn print(&self, p: &mut Printer<'_>, op: OpId);
    /// Parses everything after the op name into `state`.
    fn parse(&self, p: &mut Parser<'_>, state: &mut OpState) -> PResult<()>;
}

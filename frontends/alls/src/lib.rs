//! `hailo-alls`: the model script (`.alls`) language of the Dataflow Compiler.
//!
//! Model scripts change the default behaviour of the compiler and modify the model (user guide
//! §5.2, §5.3.3, §5.4.2). This crate reads them in three layers:
//! - [`parse`]: text to a located syntax tree ([`ast::Script`]);
//! - [`check`]: every statement against the declarative command tables of [`spec`], giving typed
//!   commands ([`ModelScript`]) and located diagnostics;
//! - [`resolve`]: layer selectors (names, lists, `{globs}`, `from_tf('orig')`) against a model's
//!   layer names, for the stages that apply the script;
//! - [`modifications`]: the model-modification commands applied to an `hl` module as their
//!   `hl-*` passes.

pub mod ast;
pub mod diagnostic;
pub mod lexer;
pub mod modifications;
pub mod parser;
pub mod resolve;
pub mod selector;
pub mod source;
pub mod spec;
pub mod typed;
pub mod value;

pub use diagnostic::{Diagnostic, Severity};
pub use parser::parse;
pub use resolve::{LayerScope, ResolvedCommand};
pub use source::{SourceFile, Span};
pub use typed::{check, CheckOptions, Command, ModelScript, TypedArg, TypedCommand};

/// The result of reading one script: typed commands plus every diagnostic, in source order.
#[derive(Debug, Clone)]
pub struct Checked {
    pub script: ModelScript,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// Parses and checks a script.
pub fn check_source(src: &SourceFile, options: CheckOptions) -> Checked {
    let (ast, mut diagnostics) = parse(src.text());
    let (script, more) = check(&ast, options);
    diagnostics.extend(more);
    diagnostics.sort_by_key(|d| d.span.start);
    Checked {
        script,
        diagnostics,
    }
}

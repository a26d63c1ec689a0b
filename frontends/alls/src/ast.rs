//! Syntax tree of a model script, and its canonical printing.
//!
//! A script is a list of statements `[targets =] [scope.]command(args)`. The tree keeps every value
//! exactly as written (words, globs, quoted strings, numbers, durations, lists) with its span, so
//! later stages can point at the offending text. `Display` prints a canonical form that parses back
//! to the same tree (spans aside).

use crate::lexer::{DurationUnit, Quote};
use crate::source::Span;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    pub statements: Vec<Statement>,
}

/// A name as written, with its location (targets, command names, keyword names, scopes).
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// `{} = command(...)`: the command's outputs are not named.
    Empty(Span),
    /// `a, b, c = command(...)`.
    Names(Vec<Name>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub targets: Option<Targets>,
    /// `context_0` in `context_0.place(...)`.
    pub scope: Option<Name>,
    pub command: Name,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// `Some` for keyword arguments (`key=value`).
    pub key: Option<Name>,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A bare word: a layer name, an enum value, a feature name...
    Word(String),
    /// `{pattern}`: a layer glob.
    Glob(String),
    Str(String, Quote),
    Int(i64),
    Float(f64),
    Duration(u64, DurationUnit),
    Bool(bool),
    None,
    List(Vec<Value>),
}

impl ValueKind {
    /// Short description for "found ..." messages.
    pub fn describe(&self) -> String {
        match self {
            ValueKind::Word(w) => format!("`{w}`"),
            ValueKind::Glob(g) => format!("glob `{{{g}}}`"),
            ValueKind::Str(s, q) => format!("string {q}{s}{q}", q = q.char()),
            ValueKind::Int(i) => format!("`{i}`"),
            ValueKind::Float(f) => format!("`{f:?}`"),
            ValueKind::Duration(n, u) => format!("`{n}{}`", u.suffix()),
            ValueKind::Bool(b) => format!("`{}`", if *b { "True" } else { "False" }),
            ValueKind::None => "`None`".into(),
            ValueKind::List(items) => format!("a list of {} item(s)", items.len()),
        }
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.statements {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.targets {
            Some(Targets::Empty(_)) => write!(f, "{{}} = ")?,
            Some(Targets::Names(names)) => {
                write_joined(f, names.iter().map(|n| &n.text))?;
                write!(f, " = ")?;
            }
            None => {}
        }
        if let Some(scope) = &self.scope {
            write!(f, "{}.", scope.text)?;
        }
        write!(f, "{}(", self.command.text)?;
        write_joined(f, &self.args)?;
        write!(f, ")")
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            write!(f, "{}=", key.text)?;
        }
        write!(f, "{}", self.value)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ValueKind::Word(w) => write!(f, "{w}"),
            ValueKind::Glob(g) => write!(f, "{{{g}}}"),
            ValueKind::Str(s, q) => {
                let q = q.char();
                write!(f, "{q}")?;
                for c in s.chars() {
                    if c == q || c == '\\' {
                        write!(f, "\\")?;
                    }
                    write!(f, "{c}")?;
                }
                write!(f, "{q}")
            }
            ValueKind::Int(i) => write!(f, "{i}"),
            ValueKind::Float(x) => write!(f, "{x:?}"),
            ValueKind::Duration(n, u) => write!(f, "{n}{}", u.suffix()),
            ValueKind::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            ValueKind::None => write!(f, "None"),
            ValueKind::List(items) => {
                write!(f, "[")?;
                write_joined(f, items)?;
                write!(f, "]")
            }
        }
    }
}

fn write_joined<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: impl IntoIterator<Item = T>,
) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

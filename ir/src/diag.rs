//! Diagnostics: located errors, warnings and notes, rendered with the source line and a caret.
//!
//! Everything that reports a problem in IR (parser, verifier, passes)
//! produces a [`Diagnostic`] and hands it to a [`DiagEngine`], which either
//! renders it or collects it for `--verify-diagnostics`.

use crate::intern::Sym;
use crate::location::Location;
use rustc_hash::FxHashMap;
use std::fmt::Write as _;

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Remark,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Remark => "remark",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub loc: Location,
    pub message: String,
    pub notes: Vec<Diagnostic>,
}

impl Diagnostic {
    pub fn error(loc: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            loc,
            message: message.into(),
            notes: Vec::new(),
        }
    }
    pub fn warning(loc: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            loc,
            message: message.into(),
            notes: Vec::new(),
        }
    }
    pub fn note(loc: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            loc,
            message: message.into(),
            notes: Vec::new(),
        }
    }
    pub fn with_note(mut self, loc: Location, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Diagnostic::note(loc, message));
        self
    }
}

/// Source texts by file name, to show the offending line under a diagnostic.
#[derive(Default, Clone)]
pub struct SourceMgr {
    files: FxHashMap<Sym, String>,
}

impl SourceMgr {
    pub fn add(&mut self, file: &str, text: &str) {
        self.files.insert(Sym::new(file), text.to_owned());
    }

    pub fn line(&self, file: Sym, line: u32) -> Option<&str> {
        let text = self.files.get(&file)?;
        text.split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.trim_end_matches('\r'))
    }

    /// `file:line:col: severity: message`, the source line and a caret, then notes.
    pub fn render(&self, d: &Diagnostic) -> String {
        let mut out = String::new();
        self.render_into(d, &mut out);
        out
    }

    fn render_into(&self, d: &Diagnostic, out: &mut String) {
        match d.loc.file_pos() {
            Some((file, line, col)) => {
                let _ = writeln!(
                    out,
                    "{file}:{line}:{col}: {}: {}",
                    d.severity.as_str(),
                    d.message
                );
                if let Some(src) = self.line(file, line) {
                    let _ = writeln!(out, "{src}");
                    let pad: String = src
                        .chars()
                        .take(col.saturating_sub(1) as usize)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let _ = writeln!(out, "{pad}^");
                }
            }
            None => {
                let names = d.loc.names();
                if names.is_empty() {
                    let _ = writeln!(out, "{}: {}", d.severity.as_str(), d.message);
                } else {
                    let _ = writeln!(
                        out,
                        "{}: {}: {}",
                        names.join(", "),
                        d.severity.as_str(),
                        d.message
                    );
                }
            }
        }
        for n in &d.notes {
            self.render_into(n, out);
        }
    }
}

/// Collects diagnostics; counts errors so tools can pick their exit code.
#[derive(Default)]
pub struct DiagEngine {
    pub diags: Vec<Diagnostic>,
}

impl DiagEngine {
    pub fn emit(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn take(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diags)
    }
}

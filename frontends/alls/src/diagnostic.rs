//! Located diagnostics (errors and warnings) and their rendering.
//!
//! Every problem found in a model script becomes a [`Diagnostic`]: a severity, a span, a one-line
//! message and a label saying what was expected. [`Diagnostic::render`] prints it in the familiar
//! `file:line:col` form with the source line and a caret under the offending text.

use crate::source::{SourceFile, Span};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One located problem in a model script.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    /// What is wrong, e.g. "unknown command `normalisation`".
    pub message: String,
    /// Shown under the caret: what was expected or what to do.
    pub label: String,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            label: label.into(),
        }
    }

    pub fn warning(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span,
            message: message.into(),
            label: label.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: severity: message`, the source line, and a caret line with the label.
    pub fn render(&self, src: &SourceFile) -> String {
        let (line, col) = src.line_col(self.span.start);
        let text = src.line_text(line);
        let line_chars = text.chars().count();
        let (end_line, end_col) = src.line_col(self.span.end);
        let width = if end_line == line && end_col > col {
            end_col - col
        } else {
            line_chars.saturating_sub(col - 1).max(1)
        };
        let gutter = line.to_string().len();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}:{line}:{col}: {}: {}",
            src.name(),
            self.severity.as_str(),
            self.message
        );
        let _ = writeln!(out, "{:gutter$} |", "");
        let _ = writeln!(out, "{line} | {text}");
        let _ = write!(
            out,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(col - 1),
            "^".repeat(width)
        );
        if !self.label.is_empty() {
            let _ = write!(out, " {}", self.label);
        }
        out.push('\n');
        out
    }
}

/// Closest candidate by edit distance, for "did you mean" hints (None when nothing is close).
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(word, c), c))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"` or an empty string.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(word, candidates)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_caret_and_label() {
        let src = SourceFile::new("a.alls", "x = 1\nfoo(bar)\n");
        let d = Diagnostic::error(Span::new(10, 13), "unknown layer `bar`", "expected a layer");
        assert_eq!(
            d.render(&src),
            "a.alls:2:5: error: unknown layer `bar`\n  |\n2 | foo(bar)\n  |     ^^^ expected a layer\n"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let names = ["normalization", "resize"];
        assert_eq!(suggest("normalisation", names), Some("normalization"));
        assert_eq!(suggest("qqq", names), None);
    }
}

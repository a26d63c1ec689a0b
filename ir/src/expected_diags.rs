//! `--verify-diagnostics`: match emitted diagnostics against
//! `// expected-error ...` comments in the input, as MLIR's lit tests do.
//!
//! Forms: `expected-error {{text}}` (substring match, same line),
//! `@+N` / `@-N` / `@above` / `@below` / `@N` (absolute line) to point
//! elsewhere, and `expected-error-re {{literal {{regex}} literal}}`.
//! Severity is one of error, warning, note, remark. Every expectation must be
//! met by exactly one diagnostic and every diagnostic must be expected.

use crate::diag::{Diagnostic, Severity};
use crate::intern::Sym;
use crate::location::Location;
use regex::Regex;

struct Expectation {
    severity: Severity,
    line: u32,
    matcher: Matcher,
    text: String,
    /// Where the comment itself is, for "was not produced" reports.
    at: (u32, u32),
    met: bool,
}

enum Matcher {
    Substring(String),
    Regex(Regex),
}

impl Matcher {
    fn matches(&self, msg: &str) -> bool {
        match self {
            Matcher::Substring(s) => msg.contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(msg),
        }
    }
}

/// Parses expectations from `src`; malformed ones are reported as diagnostics.
fn parse_expectations(file: Sym, src: &str, errors: &mut Vec<Diagnostic>) -> Vec<Expectation> {
    let lines: Vec<&str> = src.split('\n').collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let lineno = i as u32 + 1;
        let mut rest = *line;
        while let Some(pos) = rest.find("expected-") {
            let col = (line.len() - rest.len() + pos) as u32 + 1;
            let after = &rest[pos + "expected-".len()..];
            rest = after;
            let (sev, tail) = match () {
                _ if after.starts_with("error") => (Severity::Error, &after[5..]),
                _ if after.starts_with("warning") => (Severity::Warning, &after[7..]),
                _ if after.starts_with("note") => (Severity::Note, &after[4..]),
                _ if after.starts_with("remark") => (Severity::Remark, &after[6..]),
                _ => continue,
            };
            let (is_re, tail) = match tail.strip_prefix("-re") {
                Some(t) => (true, t),
                None => (false, tail),
            };
            let tail = tail.trim_start();
            let (target, tail) = if let Some(t) = tail.strip_prefix('@') {
                let end = t
                    .find(|c: char| c.is_whitespace() || c == '{')
                    .unwrap_or(t.len());
                let spec = &t[..end];
                let target = match spec {
                    "above" => Some(lineno.saturating_sub(1)),
                    "below" => Some(lineno + 1),
                    s if s.starts_with('+') => s[1..].parse::<u32>().ok().map(|n| lineno + n),
                    s if s.starts_with('-') => s[1..]
                        .parse::<u32>()
                        .ok()
                        .and_then(|n| lineno.checked_sub(n)),
                    s => s.parse::<u32>().ok(),
                };
                (target, t[end..].trim_start())
            } else {
                (Some(lineno), tail)
            };
            let here = Location::Src {
                file,
                line: lineno,
                col,
            };
            let Some(target) = target else {
                errors.push(Diagnostic::error(
                    here,
                    "invalid line offset in expected-* directive",
                ));
                continue;
            };
            let Some(body) = tail.strip_prefix("{{") else {
                errors.push(Diagnostic::error(
                    here,
                    "expected '{{' after expected-* directive",
                ));
                continue;
            };
            let Some(end) = body.rfind("}}") else {
                errors.push(Diagnostic::error(
                    here,
                    "expected '}}' to close expected-* message",
                ));
                continue;
            };
            let text = &body[..end];
            let matcher = if is_re {
                match build_regex(text) {
                    Ok(r) => Matcher::Regex(r),
                    Err(e) => {
                        errors.push(Diagnostic::error(
                            here,
                            format!("invalid regex in expected-*-re: {e}"),
                        ));
                        continue;
                    }
                }
            } else {
                Matcher::Substring(text.to_owned())
            };
            out.push(Expectation {
                severity: sev,
                line: target,
                matcher,
                text: text.to_owned(),
                at: (lineno, col),
                met: false,
            });
            rest = &body[end..];
        }
    }
    out
}

/// Literal text with `{{regex}}` islands into one regex.
fn build_regex(text: &str) -> Result<Regex, regex::Error> {
    let mut pat = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        pat.push_str(&regex::escape(&rest[..open]));
        let inner = &rest[open + 2..];
        let close = inner.find("}}").unwrap_or(inner.len());
        pat.push_str(&format!("(?:{})", &inner[..close]));
        rest = inner.get(close + 2..).unwrap_or("");
    }
    pat.push_str(&regex::escape(rest));
    Regex::new(&pat)
}

fn flatten(d: &Diagnostic, out: &mut Vec<Diagnostic>) {
    let mut top = d.clone();
    top.notes.clear();
    out.push(top);
    for n in &d.notes {
        flatten(n, out);
    }
}

/// Checks `diags` against the expectations in `src`; returns the mismatches
/// as diagnostics (empty when everything matched).
pub fn check(file: &str, src: &str, diags: &[Diagnostic]) -> Vec<Diagnostic> {
    let file = Sym::new(file);
    let mut problems = Vec::new();
    let mut expects = parse_expectations(file, src, &mut problems);
    let mut flat = Vec::new();
    for d in diags {
        flatten(d, &mut flat);
    }
    for d in flat {
        let line = d
            .loc
            .file_pos()
            .filter(|(f, _, _)| *f == file)
            .map(|(_, l, _)| l);
        let hit = expects.iter_mut().find(|e| {
            !e.met
                && e.severity == d.severity
                && Some(e.line) == line
                && e.matcher.matches(&d.message)
        });
        match hit {
            Some(e) => e.met = true,
            None => {
                let loc = if line.is_some() {
                    d.loc.clone()
                } else {
                    Location::Src {
                        file,
                        line: 1,
                        col: 1,
                    }
                };
                problems.push(Diagnostic::error(
                    loc,
                    format!("unexpected {}: {}", d.severity.as_str(), d.message),
                ));
            }
        }
    }
    for e in expects.iter().filter(|e| !e.met) {
        problems.push(Diagnostic::error(
            Location::Src {
                file,
                line: e.at.0,
                col: e.at.1,
            },
            format!(
                "expected {} \"{}\" was not produced",
                e.severity.as_str(),
                e.text
            ),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_at(line: u32, msg: &str) -> Diagnostic {
        Diagnostic::error(
            Location::Src {
                file: Sym::new("t.hir"),
                line,
                col: 1,
            },
            msg,
        )
    }

    #[test]
    fn offsets_and_regex() {
        let src = "// expected-error @+1 {{bad thing}}\nop\n// expected-error-re @above {{count {{[0-9]+}}}}\n";
        assert!(check(
            "t.hir",
            src,
            &[err_at(2, "a bad thing here"), err_at(2, "count 42")]
        )
        .is_empty());
        let probs = check("t.hir", src, &[err_at(2, "a bad thing here")]);
        assert_eq!(probs.len(), 1);
        assert!(probs[0].message.contains("was not produced"));
        let probs = check("t.hir", "", &[err_at(1, "surprise")]);
        assert_eq!(probs[0].message, "unexpected error: surprise");
    }
}

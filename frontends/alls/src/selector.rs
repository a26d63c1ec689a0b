//! Layer selectors: a single name, a `[list]` of names, or a `{glob}`.
//!
//! Globs use shell syntax (`*`, `?`, `[0-9]`, `[!a]`) and are validated when the script is checked,
//! so a malformed pattern is reported where it is written, before any model is loaded.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// A layer name as written in the script.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRef {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LayerSelector {
    Name(LayerRef),
    List(Vec<LayerRef>),
    Glob(Glob),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(char),
    AnySequence,
    AnyChar,
    /// `[...]`: inclusive ranges, negated with a leading `!` or `^`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A validated glob pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob {
    pub pattern: String,
    pub span: Span,
    parts: Vec<Part>,
}

impl Glob {
    /// Validates `pattern` (the text between the braces; `span` covers the braces).
    pub fn parse(pattern: &str, span: Span) -> Result<Glob, Diagnostic> {
        // Offset of a pattern character in the source: one past `{`.
        let at = |i: usize, len: usize| Span::new(span.start + 1 + i, span.start + 1 + i + len);
        if pattern.trim().is_empty() {
            return Err(Diagnostic::error(
                span,
                "empty layer glob",
                "expected a pattern such as `{conv*}`",
            ));
        }
        let mut parts = Vec::new();
        let chars: Vec<(usize, char)> = pattern.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (off, c) = chars[i];
            match c {
                '*' => parts.push(Part::AnySequence),
                '?' => parts.push(Part::AnyChar),
                '[' => {
                    let (part, next) = parse_class(&chars, i).map_err(|(pos, len, msg)| {
                        let off = chars.get(pos).map_or(pattern.len(), |c| c.0);
                        Diagnostic::error(at(off, len), msg.0, msg.1)
                    })?;
                    parts.push(part);
                    i = next;
                    continue;
                }
                ']' => {
                    return Err(Diagnostic::error(
                        at(off, 1),
                        "unmatched `]` in layer glob",
                        "expected `[` before `]`, e.g. `{conv[0-9]*}`",
                    ))
                }
                c if c.is_whitespace() || c == '{' => {
                    return Err(Diagnostic::error(
                        at(off, c.len_utf8()),
                        format!("invalid character {c:?} in layer glob"),
                        "expected layer name characters, `*`, `?` or `[...]`",
                    ))
                }
                c => parts.push(Part::Literal(c)),
            }
            i += 1;
        }
        Ok(Glob {
            pattern: pattern.to_string(),
            span,
            parts,
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        matches_from(&self.parts, &name)
    }
}

type ClassError = (usize, usize, (&'static str, &'static str));

/// Parses `[...]` starting at `chars[start] == '['`; returns the part and the index after `]`.
fn parse_class(chars: &[(usize, char)], start: usize) -> Result<(Part, usize), ClassError> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some((_, '!' | '^')));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let Some(&(_, c)) = chars.get(i) else {
            return Err((
                start,
                1,
                (
                    "unclosed `[` in layer glob",
                    "expected a matching `]`, e.g. `{conv[0-9]*}`",
                ),
            ));
        };
        if c == ']' {
            if ranges.is_empty() {
                return Err((
                    start,
                    i + 1 - start,
                    (
                        "empty character class in layer glob",
                        "expected characters or a range inside `[...]`",
                    ),
                ));
            }
            return Ok((Part::Class { negated, ranges }, i + 1));
        }
        if let (Some((_, '-')), Some(&(_, hi))) = (chars.get(i + 1), chars.get(i + 2)) {
            if hi != ']' {
                if hi < c {
                    return Err((
                        i,
                        3,
                        (
                            "reversed range in layer glob",
                            "expected the lower bound first, e.g. `[0-9]`",
                        ),
                    ));
                }
                ranges.push((c, hi));
                i += 3;
                continue;
            }
        }
        ranges.push((c, c));
        i += 1;
    }
}

fn matches_from(parts: &[Part], name: &[char]) -> bool {
    let Some((part, rest)) = parts.split_first() else {
        return name.is_empty();
    };
    if *part == Part::AnySequence {
        return (0..=name.len()).any(|k| matches_from(rest, &name[k..]));
    }
    let Some((&c, tail)) = name.split_first() else {
        return false;
    };
    let ok = match part {
        Part::Literal(l) => *l == c,
        Part::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        Part::AnyChar | Part::AnySequence => true,
    };
    ok && matches_from(rest, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::parse(p, Span::new(0, p.len() + 2)).unwrap()
    }

    #[test]
    fn matches_shell_patterns() {
        assert!(glob("conv*").matches("conv12"));
        assert!(!glob("conv*").matches("dw_conv12"));
        assert!(glob("vit/ew_add*").matches("vit/ew_add3"));
        assert!(glob("conv[0-9]*").matches("conv7_d0"));
        assert!(!glob("conv[0-9]*").matches("conv_x"));
        assert!(glob("conv_feature_splitter[0-9]*_[2-3]").matches("conv_feature_splitter12_3"));
        assert!(glob("c?nv[!5]").matches("conv4"));
        assert!(!glob("c?nv[!5]").matches("conv5"));
        assert!(glob("*").matches(""));
    }

    #[test]
    fn rejects_malformed_patterns_with_location() {
        let e = Glob::parse("conv[0-9*", Span::new(10, 21)).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.span),
            ("unclosed `[` in layer glob", Span::new(15, 16))
        );
        let e = Glob::parse("conv[9-0]", Span::new(0, 11)).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.span),
            ("reversed range in layer glob", Span::new(6, 9))
        );
        assert_eq!(
            Glob::parse("a]", Span::new(0, 4)).unwrap_err().span,
            Span::new(2, 3)
        );
        assert_eq!(
            Glob::parse("[]", Span::new(0, 4)).unwrap_err().message,
            "empty character class in layer glob"
        );
    }
}

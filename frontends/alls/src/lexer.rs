//! Tokenizer for model scripts.
//!
//! The model script language is a line-oriented subset of Python call syntax. Words are broader than
//! Python identifiers because layer names contain `/`, `-` and `.` (`yolov5/conv1`, `conv3-1_dc`,
//! `regnetx_1.6gf/conv1`); a dotted word directly before `(` is a scoped callee (`context_0.place`).
//! Numbers take a sign and an exponent; a number directly followed by `s`, `m` or `h` is a duration
//! (`25m`). `{...}` is a layer glob (or the empty target `{}`). `#` starts a comment.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Double,
    Single,
}

impl Quote {
    pub fn char(self) -> char {
        match self {
            Quote::Double => '"',
            Quote::Single => '\'',
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
}

impl DurationUnit {
    pub fn suffix(self) -> char {
        match self {
            DurationUnit::Seconds => 's',
            DurationUnit::Minutes => 'm',
            DurationUnit::Hours => 'h',
        }
    }

    pub fn seconds(self) -> u64 {
        match self {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    Word(String),
    Int(i64),
    Float(f64),
    Duration(u64, DurationUnit),
    Str(String, Quote),
    /// The text between `{` and `}`.
    Glob(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Equals,
    Newline,
    Eof,
}

impl TokenKind {
    /// How the token is named in "expected ..., found ..." messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Word(w) => format!("`{w}`"),
            TokenKind::Int(i) => format!("number `{i}`"),
            TokenKind::Float(f) => format!("number `{f:?}`"),
            TokenKind::Duration(n, u) => format!("duration `{n}{}`", u.suffix()),
            TokenKind::Str(..) => "a string".into(),
            TokenKind::Glob(g) => format!("glob `{{{g}}}`"),
            TokenKind::LParen => "`(`".into(),
            TokenKind::RParen => "`)`".into(),
            TokenKind::LBracket => "`[`".into(),
            TokenKind::RBracket => "`]`".into(),
            TokenKind::Comma => "`,`".into(),
            TokenKind::Equals => "`=`".into(),
            TokenKind::Newline => "end of line".into(),
            TokenKind::Eof => "end of file".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
}

/// Splits `text` into tokens; stops at the first lexical error.
pub fn tokenize(text: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let single = match c {
            b'(' => Some(TokenKind::LParen),
            b')' => Some(TokenKind::RParen),
            b'[' => Some(TokenKind::LBracket),
            b']' => Some(TokenKind::RBracket),
            b',' => Some(TokenKind::Comma),
            b'=' => Some(TokenKind::Equals),
            _ => None,
        };
        if let Some(kind) = single {
            i += 1;
            tokens.push(Token {
                kind,
                span: Span::new(start, i),
            });
            continue;
        }
        match c {
            b' ' | b'\t' | b'\x0c' => i += 1,
            b'\n' | b'\r' => {
                i += if c == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                tokens.push(Token {
                    kind: TokenKind::Newline,
                    span: Span::new(start, i),
                });
            }
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let (kind, end) = lex_string(text, start)?;
                i = end;
                tokens.push(Token {
                    kind,
                    span: Span::new(start, i),
                });
            }
            b'{' => {
                let close = text[start..]
                    .find(['}', '\n', '\r'])
                    .map(|o| start + o)
                    .filter(|&p| bytes[p] == b'}');
                let Some(close) = close else {
                    return Err(Diagnostic::error(
                        Span::new(start, start + 1),
                        "unclosed `{` in layer glob",
                        "expected `}` on the same line, e.g. `{conv*}`",
                    ));
                };
                i = close + 1;
                tokens.push(Token {
                    kind: TokenKind::Glob(text[start + 1..close].to_string()),
                    span: Span::new(start, i),
                });
            }
            _ if is_word_start(c) => {
                while i < bytes.len() && is_word_char(bytes[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    kind: TokenKind::Word(text[start..i].to_string()),
                    span: Span::new(start, i),
                });
            }
            _ if c.is_ascii_digit() || c == b'-' || c == b'+' || c == b'.' => {
                i += 1;
                while i < bytes.len()
                    && (is_word_char(bytes[i])
                        || (bytes[i] == b'+' && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                let span = Span::new(start, i);
                tokens.push(Token {
                    kind: lex_number(&text[start..i], span)?,
                    span,
                });
            }
            _ => {
                let ch = text[start..].chars().next().unwrap_or('?');
                return Err(Diagnostic::error(
                    Span::new(start, start + ch.len_utf8()),
                    format!("unexpected character `{ch}`"),
                    "expected a name, number, string, `{glob}`, bracket, `,` or `=`",
                ));
            }
        }
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        span: Span::new(text.len(), text.len()),
    });
    Ok(tokens)
}

/// A quoted string starting at `start`; `\` escapes the next character. Returns the token and the
/// offset after the closing quote.
fn lex_string(text: &str, start: usize) -> Result<(TokenKind, usize), Diagnostic> {
    let quote = if text.as_bytes()[start] == b'"' {
        Quote::Double
    } else {
        Quote::Single
    };
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, '\n' | '\r')) | None => break,
                Some((_, esc)) => value.push(esc),
            },
            '\n' | '\r' => break,
            _ if ch == quote.char() => {
                return Ok((TokenKind::Str(value, quote), start + 1 + off + 1));
            }
            _ => value.push(ch),
        }
    }
    Err(Diagnostic::error(
        Span::new(start, start + 1),
        "unterminated string",
        format!("expected a closing `{}` on the same line", quote.char()),
    ))
}

/// A numeric word: integer, float (with optional exponent) or duration; digit-led words that are
/// none of these (`1x1_conv`) are names.
fn lex_number(word: &str, span: Span) -> Result<TokenKind, Diagnostic> {
    if let Ok(i) = word.parse::<i64>() {
        return Ok(TokenKind::Int(i));
    }
    let looks_numeric = word
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if looks_numeric && word.bytes().any(|b| b.is_ascii_digit()) {
        if let Ok(f) = word.parse::<f64>() {
            if f.is_finite() {
                return Ok(TokenKind::Float(f));
            }
        }
    }
    let (digits, unit) = word.split_at(word.len() - 1);
    let unit = match unit {
        "s" => Some(DurationUnit::Seconds),
        "m" => Some(DurationUnit::Minutes),
        "h" => Some(DurationUnit::Hours),
        _ => None,
    };
    if let (Some(unit), Ok(n)) = (unit, digits.parse::<u64>()) {
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(TokenKind::Duration(n, unit));
        }
    }
    if word.as_bytes()[0].is_ascii_digit() && word.bytes().all(is_word_char) && !looks_numeric {
        return Ok(TokenKind::Word(word.to_string()));
    }
    Err(Diagnostic::error(
        span,
        format!("invalid number `{word}`"),
        "expected a number such as `3`, `-0.5`, `1e-5`, or a duration such as `25m`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn lexes_words_numbers_durations_globs_and_strings() {
        use TokenKind::*;
        assert_eq!(
            kinds("a/b-1 = f(-1.5e-3, +2, 25m, {conv[0-9]*}, \"$X/p.json\", 'o')#c\r\n"),
            vec![
                Word("a/b-1".into()),
                Equals,
                Word("f".into()),
                LParen,
                Float(-1.5e-3),
                Comma,
                Int(2),
                Comma,
                Duration(25, DurationUnit::Minutes),
                Comma,
                Glob("conv[0-9]*".into()),
                Comma,
                Str("$X/p.json".into(), Quote::Double),
                Comma,
                Str("o".into(), Quote::Single),
                RParen,
                Newline,
                Eof
            ]
        );
    }

    #[test]
    fn digit_led_names_are_words() {
        assert_eq!(kinds("1x1_conv")[0], TokenKind::Word("1x1_conv".into()));
    }

    #[test]
    fn reports_bad_number_and_unterminated_string() {
        let e = tokenize("f(1.2.3)").unwrap_err();
        assert_eq!(
            (e.span, e.message.as_str()),
            (Span::new(2, 7), "invalid number `1.2.3`")
        );
        let e = tokenize("f(\"abc)\n").unwrap_err();
        assert_eq!(e.message, "unterminated string");
    }
}

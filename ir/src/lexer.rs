//! Tokens of the textual IR, lexed on demand from a byte offset.
//!
//! The parser asks for one token at a time; context-dependent pieces (the
//! `1x32x3xf32` dimension list of a tensor type, the raw body of `!dialect`
//! types and `#dialect` attributes) are lexed by dedicated helpers.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tok {
    /// `%name`, `%0`, `%0#1`
    ValueId,
    /// `^bb0`
    BlockId,
    /// `@name` or `@"quoted"`
    AtId,
    /// `#dialect.body<...>`
    HashId,
    /// `!dialect.body<...>`
    BangId,
    /// `builtin.module`, `tensor`, `true`, `f32`, ...
    Ident,
    Int,
    Float,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Less,
    Greater,
    Comma,
    Colon,
    Equal,
    Arrow,
    Question,
    Star,
    Plus,
    /// `{-#`
    FileMetaBegin,
    /// `#-}`
    FileMetaEnd,
    Eof,
    /// A byte that starts no token; the parser reports it.
    Error,
}

#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

pub fn describe(kind: Tok) -> &'static str {
    match kind {
        Tok::ValueId => "SSA value",
        Tok::BlockId => "block label",
        Tok::AtId => "symbol",
        Tok::HashId => "dialect attribute",
        Tok::BangId => "dialect type",
        Tok::Ident => "identifier",
        Tok::Int => "integer",
        Tok::Float => "float",
        Tok::Str => "string",
        Tok::LParen => "'('",
        Tok::RParen => "')'",
        Tok::LBrace => "'{'",
        Tok::RBrace => "'}'",
        Tok::LBracket => "'['",
        Tok::RBracket => "']'",
        Tok::Less => "'<'",
        Tok::Greater => "'>'",
        Tok::Comma => "','",
        Tok::Colon => "':'",
        Tok::Equal => "'='",
        Tok::Arrow => "'->'",
        Tok::Question => "'?'",
        Tok::Star => "'*'",
        Tok::Plus => "'+'",
        Tok::FileMetaBegin => "'{-#'",
        Tok::FileMetaEnd => "'#-}'",
        Tok::Eof => "end of file",
        Tok::Error => "invalid character",
    }
}

const IDENT_START: u8 = 1;
/// Letters, digits and `_ $ . -`: the rest of identifiers and `%`/`^`/`@` suffixes.
const IDENT_CHAR: u8 = 2;
const SPACE: u8 = 4;

/// Character classes of bytes, one table lookup per byte in the hot loops.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] |= IDENT_START;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.' | b'-') {
            t[c] |= IDENT_CHAR;
        }
        if b.is_ascii_whitespace() {
            t[c] |= SPACE;
        }
        c += 1;
    }
    t
};

fn is_ident_start(c: u8) -> bool {
    CLASS[c as usize] & IDENT_START != 0
}

fn is_ident_char(c: u8) -> bool {
    CLASS[c as usize] & IDENT_CHAR != 0
}

fn is_suffix_char(c: u8) -> bool {
    is_ident_char(c)
}

/// Skips whitespace and `//` comments from `pos`.
pub fn skip_trivia(src: &[u8], mut pos: usize) -> usize {
    // Fast path: the next token follows directly or after one space.
    let solid = |c: u8| CLASS[c as usize] & SPACE == 0 && c != b'/';
    match src.get(pos) {
        Some(&c) if solid(c) => return pos,
        Some(b' ') if src.get(pos + 1).is_some_and(|&c| solid(c)) => return pos + 1,
        _ => {}
    }
    loop {
        while pos < src.len() && CLASS[src[pos] as usize] & SPACE != 0 {
            pos += 1;
        }
        if src[pos..].starts_with(b"//") {
            while pos < src.len() && src[pos] != b'\n' {
                pos += 1;
            }
        } else {
            return pos;
        }
    }
}

/// Lexes one token starting exactly at `pos` (trivia already skipped).
pub fn lex(src: &[u8], pos: usize) -> Token {
    let tok = |kind, end| Token {
        kind,
        start: pos,
        end,
    };
    let Some(&c) = src.get(pos) else {
        return tok(Tok::Eof, pos);
    };
    let at = |i: usize| src.get(pos + i).copied().unwrap_or(0);
    match c {
        b'(' => tok(Tok::LParen, pos + 1),
        b')' => tok(Tok::RParen, pos + 1),
        b'{' if at(1) == b'-' && at(2) == b'#' => tok(Tok::FileMetaBegin, pos + 3),
        b'{' => tok(Tok::LBrace, pos + 1),
        b'}' => tok(Tok::RBrace, pos + 1),
        b'[' => tok(Tok::LBracket, pos + 1),
        b']' => tok(Tok::RBracket, pos + 1),
        b'<' => tok(Tok::Less, pos + 1),
        b'>' => tok(Tok::Greater, pos + 1),
        b',' => tok(Tok::Comma, pos + 1),
        b':' => tok(Tok::Colon, pos + 1),
        b'=' => tok(Tok::Equal, pos + 1),
        b'?' => tok(Tok::Question, pos + 1),
        b'*' => tok(Tok::Star, pos + 1),
        b'+' => tok(Tok::Plus, pos + 1),
        b'-' if at(1) == b'>' => tok(Tok::Arrow, pos + 2),
        b'-' if at(1).is_ascii_digit() => lex_number(src, pos),
        b'-' if src[pos + 1..].starts_with(b"inf") => tok(Tok::Ident, pos + 4),
        b'0'..=b'9' => lex_number(src, pos),
        b'"' => lex_string(src, pos),
        b'%' => {
            let mut end = pos + 1;
            while end < src.len() && is_suffix_char(src[end]) {
                end += 1;
            }
            if end == pos + 1 {
                return tok(Tok::Error, pos + 1);
            }
            if src.get(end) == Some(&b'#') && src.get(end + 1).is_some_and(u8::is_ascii_digit) {
                end += 1;
                while end < src.len() && src[end].is_ascii_digit() {
                    end += 1;
                }
            }
            tok(Tok::ValueId, end)
        }
        b'^' | b'@' => {
            let kind = if c == b'^' { Tok::BlockId } else { Tok::AtId };
            if c == b'@' && at(1) == b'"' {
                let s = lex_string(src, pos + 1);
                return Token {
                    kind: if s.kind == Tok::Str {
                        Tok::AtId
                    } else {
                        Tok::Error
                    },
                    start: pos,
                    end: s.end,
                };
            }
            let mut end = pos + 1;
            while end < src.len() && is_suffix_char(src[end]) {
                end += 1;
            }
            if end == pos + 1 {
                return tok(Tok::Error, pos + 1);
            }
            tok(kind, end)
        }
        b'#' if at(1) == b'-' && at(2) == b'}' => tok(Tok::FileMetaEnd, pos + 3),
        b'#' | b'!' => {
            let kind = if c == b'#' { Tok::HashId } else { Tok::BangId };
            let mut end = pos + 1;
            while end < src.len() && is_ident_char(src[end]) {
                end += 1;
            }
            if end == pos + 1 {
                return tok(Tok::Error, pos + 1);
            }
            if src.get(end) == Some(&b'<') {
                match balanced_angle_end(src, end) {
                    Some(e) => end = e,
                    None => return tok(Tok::Error, src.len()),
                }
            }
            tok(kind, end)
        }
        c if is_ident_start(c) => {
            let mut end = pos + 1;
            while let Some(&c) = src.get(end) {
                if !is_ident_char(c) || (c == b'-' && src.get(end + 1) == Some(&b'>')) {
                    break;
                }
                end += 1;
            }
            tok(Tok::Ident, end)
        }
        _ => {
            let len = std::str::from_utf8(&src[pos..])
                .ok()
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            tok(Tok::Error, pos + len)
        }
    }
}

/// End offset (exclusive) of a `<...>` group starting at `open`, honouring nesting and strings.
pub fn balanced_angle_end(src: &[u8], open: usize) -> Option<usize> {
    // Fast path: bodies like `1x56x56x64xf32` hold no brackets, strings or arrows.
    let mut i = open + 1;
    while i < src.len() && is_ident_char(src[i]) && src[i] != b'-' {
        i += 1;
    }
    if src.get(i) == Some(&b'>') {
        return Some(i + 1);
    }
    let mut depth = 0i32;
    let mut i = open;
    while i < src.len() {
        match src[i] {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' if i > 0 && src[i - 1] == b'-' => {}
            b'>' | b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
                if depth < 0 {
                    return None;
                }
            }
            b'"' => {
                let s = lex_string(src, i);
                if s.kind != Tok::Str {
                    return None;
                }
                i = s.end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn lex_number(src: &[u8], pos: usize) -> Token {
    let mut end = pos;
    if src[end] == b'-' {
        end += 1;
    }
    if src[end..].starts_with(b"0x") {
        end += 2;
        while end < src.len() && src[end].is_ascii_hexdigit() {
            end += 1;
        }
        return Token {
            kind: Tok::Int,
            start: pos,
            end,
        };
    }
    while end < src.len() && src[end].is_ascii_digit() {
        end += 1;
    }
    let mut kind = Tok::Int;
    if src.get(end) == Some(&b'.') {
        kind = Tok::Float;
        end += 1;
        while end < src.len() && src[end].is_ascii_digit() {
            end += 1;
        }
    }
    if matches!(src.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(src.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        if src.get(e).is_some_and(u8::is_ascii_digit) {
            while e < src.len() && src[e].is_ascii_digit() {
                e += 1;
            }
            kind = Tok::Float;
            end = e;
        }
    }
    Token {
        kind,
        start: pos,
        end,
    }
}

fn lex_string(src: &[u8], pos: usize) -> Token {
    let mut i = pos + 1;
    while i < src.len() {
        match src[i] {
            b'"' => {
                return Token {
                    kind: Tok::Str,
                    start: pos,
                    end: i + 1,
                }
            }
            b'\\' => i += 2,
            b'\n' => break,
            _ => i += 1,
        }
    }
    Token {
        kind: Tok::Error,
        start: pos,
        end: i.min(src.len()),
    }
}

/// Decodes a string literal's escapes (`\"`, `\\`, `\n`, `\t`, `\XX` hex).
pub fn unescape(lit: &str) -> Result<String, String> {
    let body = &lit[1..lit.len() - 1];
    let mut bytes = Vec::with_capacity(body.len());
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            bytes.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'"') => bytes.push(b'"'),
            Some(b'\\') => bytes.push(b'\\'),
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(h) if h.is_ascii_hexdigit() && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).map_err(|e| e.to_string())?;
                bytes.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                i += 1;
            }
            _ => return Err(format!("invalid escape sequence in string at byte {i}")),
        }
        i += 2;
    }
    String::from_utf8(bytes)
        .map_err(|_| "string literal is not valid UTF-8 after unescaping".to_owned())
}

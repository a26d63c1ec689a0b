//! MLIR's textual pass pipeline grammar.
//!
//! ```text
//! pipeline := element (',' element)*
//! element  := name ('{' option* '}')? ('(' pipeline ')')?
//! option   := key ('=' value)?          (separated by spaces)
//! value    := word | '"' string '"' | '[' value (',' value)* ']' | '{' text '}'
//! ```
//! An element with parentheses is a nested pass manager anchored on the op
//! named `name`; otherwise it is a pass or a named pipeline. Errors carry
//! the byte offset of the problem so tools can point at the column.

use super::options::RawValue;

#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    pub name: String,
    /// Byte offset of the name in the pipeline text.
    pub offset: usize,
    pub options: Vec<(String, RawValue)>,
    pub nested: Option<Vec<Element>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

struct Cursor<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

pub fn parse(text: &str) -> Result<Vec<Element>, SyntaxError> {
    let mut c = Cursor {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    c.ws();
    if c.pos == c.s.len() {
        return Err(SyntaxError {
            offset: 0,
            message: "empty pass pipeline".into(),
        });
    }
    let elems = c.pipeline()?;
    c.ws();
    if c.pos != c.s.len() {
        return Err(c.err(format!(
            "expected ',' or end of pipeline, found '{}'",
            c.rest_char()
        )));
    }
    Ok(elems)
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn err(&self, message: String) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            message,
        }
    }
    fn rest_char(&self) -> String {
        self.text[self.pos..]
            .chars()
            .next()
            .map_or_else(|| "end of pipeline".into(), |c| c.to_string())
    }

    fn pipeline(&mut self) -> Result<Vec<Element>, SyntaxError> {
        let mut out = vec![self.element()?];
        loop {
            self.ws();
            if self.peek() != Some(b',') {
                return Ok(out);
            }
            self.pos += 1;
            self.ws();
            out.push(self.element()?);
        }
    }

    fn element(&mut self) -> Result<Element, SyntaxError> {
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err(format!(
                "expected pass or op name, found '{}'",
                self.rest_char()
            )));
        }
        let name = self.text[start..self.pos].to_owned();
        let mut options = Vec::new();
        self.ws();
        if self.peek() == Some(b'{') {
            self.pos += 1;
            options = self.options()?;
        }
        self.ws();
        let mut nested = None;
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.ws();
            if self.peek() == Some(b')') {
                nested = Some(Vec::new());
            } else {
                nested = Some(self.pipeline()?);
            }
            self.ws();
            if self.peek() != Some(b')') {
                return Err(self.err(format!(
                    "expected ')' to close '{name}(', found '{}'",
                    self.rest_char()
                )));
            }
            self.pos += 1;
        }
        Ok(Element {
            name,
            offset: start,
            options,
            nested,
        })
    }

    fn options(&mut self) -> Result<Vec<(String, RawValue)>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(out);
                }
                None => return Err(self.err("expected '}' to close the option list".into())),
                _ => {}
            }
            let start = self.pos;
            while self.peek().is_some_and(is_name_char) {
                self.pos += 1;
            }
            if self.pos == start {
                return Err(self.err(format!(
                    "expected option name, found '{}'",
                    self.rest_char()
                )));
            }
            let key = self.text[start..self.pos].to_owned();
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.value(true)?
            } else {
                RawValue::Word(String::new())
            };
            out.push((key, value));
        }
    }

    fn value(&mut self, top: bool) -> Result<RawValue, SyntaxError> {
        match self.peek() {
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(RawValue::List(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(false)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(RawValue::List(items));
                        }
                        _ => {
                            return Err(self.err(format!(
                                "expected ',' or ']' in list, found '{}'",
                                self.rest_char()
                            )))
                        }
                    }
                }
            }
            Some(b'"') => {
                let start = self.pos + 1;
                let Some(len) = self.text[start..].find('"') else {
                    return Err(self.err("unterminated string in option value".into()));
                };
                self.pos = start + len + 1;
                Ok(RawValue::Word(self.text[start..start + len].to_owned()))
            }
            Some(b'{') => {
                let start = self.pos;
                let mut depth = 0;
                while let Some(b) = self.peek() {
                    self.pos += 1;
                    match b {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(RawValue::Word(
                                    self.text[start + 1..self.pos - 1].to_owned(),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                Err(SyntaxError {
                    offset: start,
                    message: "unbalanced '{' in option value".into(),
                })
            }
            _ => {
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if b.is_ascii_whitespace() || b == b'}' || (!top && matches!(b, b',' | b']')) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(RawValue::Word(self.text[start..self.pos].to_owned()))
            }
        }
    }
}

fn raw_text(v: &RawValue) -> String {
    match v {
        RawValue::Word(w) if w.contains([' ', '}', ',', ']']) => format!("\"{w}\""),
        RawValue::Word(w) => w.clone(),
        RawValue::List(items) => format!(
            "[{}]",
            items.iter().map(raw_text).collect::<Vec<_>>().join(",")
        ),
    }
}

/// Prints elements back as pipeline text (used for named pipelines and tests).
pub fn print(elems: &[Element]) -> String {
    elems
        .iter()
        .map(|e| {
            let mut s = e.name.clone();
            if !e.options.is_empty() {
                let opts: Vec<String> = e
                    .options
                    .iter()
                    .map(|(k, v)| format!("{k}={}", raw_text(v)))
                    .collect();
                s.push_str(&format!("{{{}}}", opts.join(" ")));
            }
            if let Some(n) = &e.nested {
                s.push_str(&format!("({})", print(n)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_pipelines_with_options() {
        let p =
            parse("builtin.module(builtin.graph(canonicalize{max-iterations=3 list=[1,2]}, cse))")
                .unwrap();
        assert_eq!(p.len(), 1);
        let g = &p[0].nested.as_ref().unwrap()[0];
        assert_eq!(g.name, "builtin.graph");
        let c = &g.nested.as_ref().unwrap()[0];
        assert_eq!(
            c.options[0],
            ("max-iterations".into(), RawValue::Word("3".into()))
        );
        assert_eq!(
            c.options[1],
            (
                "list".into(),
                RawValue::List(vec![RawValue::Word("1".into()), RawValue::Word("2".into())])
            )
        );
        assert_eq!(
            print(&p),
            "builtin.module(builtin.graph(canonicalize{max-iterations=3 list=[1,2]},cse))"
        );
    }

    #[test]
    fn errors_carry_offsets() {
        let e = parse("builtin.module(cse").unwrap_err();
        assert_eq!(e.offset, 18);
        let e = parse("builtin.module(,)").unwrap_err();
        assert_eq!(e.offset, 15);
    }
}

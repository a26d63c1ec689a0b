//! Parser: tokens to [`Script`].
//!
//! One statement per line; inside `(...)` and `[...]` line breaks are ignored (implicit
//! continuation), as in Python. After a syntax error the parser skips to the next line at bracket
//! depth zero and goes on, so one bad line yields one error and the rest of the file is still checked.

use crate::ast::{Arg, Name, Script, Statement, Targets, Value, ValueKind};
use crate::diagnostic::Diagnostic;
use crate::lexer::{tokenize, Token, TokenKind};
use crate::source::Span;
use hailo_guard::limits::Depth;

/// Parses a whole script. Returns the statements that parsed and one error per bad statement.
pub fn parse(text: &str) -> (Script, Vec<Diagnostic>) {
    let tokens = match tokenize(text) {
        Ok(t) => t,
        Err(e) => return (Script::default(), vec![e]),
    };
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: Depth::default(),
    };
    let mut script = Script::default();
    let mut errors = Vec::new();
    loop {
        while p.peek().kind == TokenKind::Newline {
            p.pos += 1;
        }
        if p.peek().kind == TokenKind::Eof {
            break;
        }
        match p.statement() {
            Ok(s) => script.statements.push(s),
            Err(e) => {
                errors.push(e);
                p.recover();
            }
        }
    }
    (script, errors)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// How deeply the lists being parsed nest (a hostile script nests thousands).
    depth: Depth,
}

/// An open bracket: its closing kind and where it was opened.
struct Open {
    close: TokenKind,
    span: Span,
}

impl Open {
    fn unclosed(&self) -> Diagnostic {
        let opener = if self.close == TokenKind::RParen {
            "("
        } else {
            "["
        };
        Diagnostic::error(
            self.span,
            format!("unclosed `{opener}`"),
            format!("expected a matching `{}`", self.closer()),
        )
    }

    fn check_not_eof(&self, t: &Token) -> PResult<()> {
        if t.kind == TokenKind::Eof {
            return Err(self.unclosed());
        }
        Ok(())
    }

    fn closer(&self) -> &'static str {
        if self.close == TokenKind::RParen {
            ")"
        } else {
            "]"
        }
    }
}

type PResult<T> = Result<T, Diagnostic>;

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &TokenKind {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].kind
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
        }
        t
    }

    fn skip_newlines(&mut self) {
        while self.peek().kind == TokenKind::Newline {
            self.pos += 1;
        }
    }

    /// Skips to the start of the next line at bracket depth zero.
    fn recover(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.bump().kind {
                TokenKind::Eof => return,
                TokenKind::LParen | TokenKind::LBracket => depth += 1,
                TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                TokenKind::Newline if depth == 0 => return,
                _ => {}
            }
        }
    }

    fn unexpected(&self, expected: &str) -> Diagnostic {
        let t = self.peek();
        Diagnostic::error(
            t.span,
            format!("expected {expected}, found {}", t.kind.describe()),
            format!("expected {expected}"),
        )
    }

    fn statement(&mut self) -> PResult<Statement> {
        let start = self.peek().span;
        let targets = self.targets()?;
        let (scope, command) = self.callee()?;
        let open = self.bump();
        let open = Open {
            close: TokenKind::RParen,
            span: open.span,
        };
        let mut args = Vec::new();
        let mut seen_keyword = false;
        loop {
            self.skip_newlines();
            if self.peek().kind == TokenKind::RParen {
                break;
            }
            open.check_not_eof(self.peek())?;
            let arg = self.arg()?;
            if arg.key.is_some() {
                seen_keyword = true;
            } else if seen_keyword {
                return Err(Diagnostic::error(
                    arg.span,
                    "positional argument after keyword arguments",
                    "expected `name=value`; put positional arguments first",
                ));
            }
            args.push(arg);
            if !self.separator(&open)? {
                break;
            }
        }
        let close = self.bump();
        let t = self.peek();
        if !matches!(t.kind, TokenKind::Newline | TokenKind::Eof) {
            return Err(Diagnostic::error(
                t.span,
                format!(
                    "expected end of line after the command, found {}",
                    t.kind.describe()
                ),
                "expected one command per line",
            ));
        }
        Ok(Statement {
            targets,
            scope,
            command,
            args,
            span: start.to(close.span),
        })
    }

    /// `a, b =` / `{} =` / nothing.
    fn targets(&mut self) -> PResult<Option<Targets>> {
        match (&self.peek().kind, self.peek_at(1)) {
            (TokenKind::Glob(g), TokenKind::Equals) if g.trim().is_empty() => {
                let span = self.bump().span;
                self.bump();
                Ok(Some(Targets::Empty(span)))
            }
            (TokenKind::Word(_), TokenKind::Equals | TokenKind::Comma) => {
                let mut names = Vec::new();
                loop {
                    let t = self.bump();
                    let TokenKind::Word(text) = t.kind else {
                        self.pos -= 1;
                        return Err(self.unexpected("a target layer name"));
                    };
                    names.push(Name { text, span: t.span });
                    match self.bump().kind {
                        TokenKind::Comma => continue,
                        TokenKind::Equals => return Ok(Some(Targets::Names(names))),
                        _ => {
                            self.pos -= 1;
                            return Err(self.unexpected("`,` or `=` after a target name"));
                        }
                    }
                }
            }
            _ => Ok(None),
        }
    }

    /// `command(` or `scope.command(`; leaves `(` as the next token.
    fn callee(&mut self) -> PResult<(Option<Name>, Name)> {
        let t = self.peek().clone();
        let TokenKind::Word(word) = &t.kind else {
            return Err(self.unexpected("a command such as `normalization(...)`"));
        };
        if *self.peek_at(1) != TokenKind::LParen {
            self.pos += 1;
            return Err(self.unexpected("`(` after the command name"));
        }
        self.pos += 1;
        let (scope, name) = match word.rsplit_once('.') {
            Some((scope, name)) => {
                let scope_span = Span::new(t.span.start, t.span.start + scope.len());
                let name_span = Span::new(scope_span.end + 1, t.span.end);
                (
                    Some(Name {
                        text: scope.to_string(),
                        span: scope_span,
                    }),
                    Name {
                        text: name.to_string(),
                        span: name_span,
                    },
                )
            }
            None => (
                None,
                Name {
                    text: word.clone(),
                    span: t.span,
                },
            ),
        };
        let valid = name
            .text
            .bytes()
            .next()
            .is_some_and(|b| !b.is_ascii_digit())
            && name
                .text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(Diagnostic::error(
                name.span,
                format!("invalid command name `{}`", name.text),
                "expected a command name made of letters, digits and `_`",
            ));
        }
        Ok((scope, name))
    }

    fn arg(&mut self) -> PResult<Arg> {
        if let (TokenKind::Word(w), TokenKind::Equals) = (&self.peek().kind, self.peek_at(1)) {
            let key = Name {
                text: w.clone(),
                span: self.peek().span,
            };
            self.pos += 2;
            self.skip_newlines();
            let value = self.value()?;
            return Ok(Arg {
                span: key.span.to(value.span),
                key: Some(key),
                value,
            });
        }
        let value = self.value()?;
        Ok(Arg {
            key: None,
            span: value.span,
            value,
        })
    }

    /// After an item in brackets: consumes `,` and returns true, or sees the closer and returns
    /// false; anything else is an error that names the unclosed bracket.
    fn separator(&mut self, open: &Open) -> PResult<bool> {
        let had_newline = self.peek().kind == TokenKind::Newline;
        self.skip_newlines();
        let t = self.peek();
        if t.kind == TokenKind::Comma {
            self.pos += 1;
            return Ok(true);
        }
        if t.kind == open.close {
            return Ok(false);
        }
        if had_newline || t.kind == TokenKind::Eof {
            return Err(open.unclosed());
        }
        Err(self.unexpected(&format!("`,` or `{}`", open.closer())))
    }

    fn value(&mut self) -> PResult<Value> {
        let t = self.bump();
        let kind = match t.kind {
            TokenKind::Word(w) => match w.as_str() {
                "True" => ValueKind::Bool(true),
                "False" => ValueKind::Bool(false),
                "None" => ValueKind::None,
                _ => ValueKind::Word(w),
            },
            TokenKind::Glob(g) => ValueKind::Glob(g),
            TokenKind::Str(s, q) => ValueKind::Str(s, q),
            TokenKind::Int(i) => ValueKind::Int(i),
            TokenKind::Float(f) => ValueKind::Float(f),
            TokenKind::Duration(n, u) => ValueKind::Duration(n, u),
            TokenKind::LBracket => return self.list(t.span),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("a value (name, number, string, `{glob}` or `[list]`)"));
            }
        };
        Ok(Value { kind, span: t.span })
    }

    fn list(&mut self, open_span: Span) -> PResult<Value> {
        self.depth
            .enter("`[`")
            .map_err(|e| Diagnostic::error(open_span, e.to_string(), "flatten this list"))?;
        let list = self.list_items(open_span);
        self.depth.leave();
        list
    }

    fn list_items(&mut self, open_span: Span) -> PResult<Value> {
        let open = Open {
            close: TokenKind::RBracket,
            span: open_span,
        };
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.peek().kind == TokenKind::RBracket {
                break;
            }
            open.check_not_eof(self.peek())?;
            items.push(self.value()?);
            if !self.separator(&open)? {
                break;
            }
        }
        let close = self.bump();
        Ok(Value {
            kind: ValueKind::List(items),
            span: open_span.to(close.span),
        })
    }
}

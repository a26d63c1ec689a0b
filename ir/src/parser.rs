//! Parser for the textual IR (custom and generic forms, resources section).
//!
//! Errors are [`Diagnostic`]s located at `file:line:col` and phrased as
//! "expected X, found Y"; the caller renders them with the source line and a
//! caret. Graph regions may refer to values before their definition in the
//! generic form (operand types are spelled out there); such forward
//! references are placeholders until the definition is seen.

use crate::attr_dict::{AttrDict, AttrUniquer, NamedAttr};
use crate::attrs::{Attribute, DenseValues};
use crate::blob::Blob;
use crate::diag::Diagnostic;
use crate::dialect::{Context, Syntax};
use crate::intern::Sym;
use crate::lexer::{self, describe, Tok, Token};
use crate::location::Location;
use crate::module::{BlockId, Module, OpSpec, ValueId};
use crate::types::{Signedness, Type, TypeKind};
use hailo_guard::limits::Depth;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::sync::Arc;

pub type PResult<T> = Result<T, Box<Diagnostic>>;

/// An op under construction: what the generic or custom syntax filled in.
pub struct OpState {
    pub name: Sym,
    pub operands: SmallVec<[ValueId; 4]>,
    pub result_types: SmallVec<[Type; 2]>,
    pub attrs: Vec<(Sym, Attribute)>,
    /// Each region as its (detached) blocks.
    pub regions: Vec<Vec<BlockId>>,
    pub loc: Location,
}

#[derive(Default)]
struct Scope<'a> {
    /// Single values named by a plain decimal number (`%42`, the printer's
    /// names), indexed by that number: no hashing and 4 bytes per name, the
    /// value's arena slot ([`NO_VALUE`] for none). Defined values are never
    /// erased while parsing, so a slot always names its value.
    numbered: Vec<u32>,
    /// Every other name (and result groups `%3:2`).
    names: FxHashMap<&'a str, SmallVec<[ValueId; 1]>>,
    /// Forward references: name → (placeholder value, where it was first used).
    forward: FxHashMap<&'a str, (ValueId, Location)>,
    isolated: bool,
}

impl<'a> Scope<'a> {
    /// Names above the highest number so far plus this go to the map instead
    /// of growing `numbered` (so `%4000000000` cannot allocate gigabytes).
    const MAX_GAP: usize = 4096;

    fn get(&self, m: &Module, name: &str, number: Option<usize>) -> Option<SmallVec<[ValueId; 1]>> {
        if let Some(&slot) = number
            .and_then(|n| self.numbered.get(n))
            .filter(|&&slot| slot != NO_VALUE)
        {
            return Some(smallvec::smallvec![m.value_at(slot)]);
        }
        self.names.get(name).cloned()
    }

    fn define(&mut self, name: &'a str, number: Option<usize>, vals: SmallVec<[ValueId; 1]>) {
        match number {
            Some(n) if vals.len() == 1 && n < self.numbered.len() + Self::MAX_GAP => {
                let slot = vals[0].index() as u32;
                if n == self.numbered.len() {
                    self.numbered.push(slot);
                    return;
                }
                if n > self.numbered.len() {
                    self.numbered.resize(n + 1, NO_VALUE);
                }
                self.numbered[n] = slot;
            }
            _ => {
                self.names.insert(name, vals);
            }
        }
    }
}

/// A `numbered` entry with no value.
const NO_VALUE: u32 = u32::MAX;

/// The number of a value name written as a plain decimal (`42`, not `042`).
fn name_number(name: &str) -> Option<usize> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > 9 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    b.iter().try_fold(0usize, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + usize::from(c - b'0'))
    })
}

pub struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    file: Sym,
    tok: Token,
    /// End offset of the last consumed token.
    prev_end: usize,
    /// The last offset turned into a location, with its 0-based line and
    /// the offset where that line starts: parsing moves forward, so the next
    /// lookup only counts the newlines in between.
    line_cache: std::cell::Cell<(usize, usize, usize)>,
    pub ctx: &'a Context,
    pub m: Module,
    scopes: Vec<Scope<'a>>,
    /// Tensor types by their source text: big graphs repeat a few types many times.
    type_cache: FxHashMap<&'a str, Type>,
    /// The last tensor type parsed, by its text: consecutive ops often
    /// repeat it, and comparing the text is cheaper than hashing it.
    last_tensor_type: Option<(&'a str, Type)>,
    /// Op names and attribute keys already interned: a file repeats a few
    /// of them on every op, and this lookup needs no global lock.
    sym_cache: FxHashMap<&'a str, Sym>,
    /// The last custom-form op name with its symbol and definition: ops of
    /// one kind often come in runs, and comparing the name beats hashing it.
    last_op: Option<(&'a str, Sym, Option<&'a crate::dialect::OpDef>)>,
    /// The keys of the last op dictionary, which are sorted: the next op
    /// with the same keys in the same order needs no sorting check.
    last_keys: SmallVec<[Sym; 4]>,
    /// Shares equal attribute entries between the ops of the file.
    uniquer: AttrUniquer,
    /// The attribute list handed to each op's [`OpState`], reused between ops.
    attr_scratch: Vec<(Sym, Attribute)>,
    /// The last value parsed for recent attribute keys of op dictionaries,
    /// as (key text, value text, entry): an op repeating the value text
    /// shares the entry unparsed. Few keys recur, so a short list scanned
    /// linearly beats hashing.
    attr_memo: Vec<Memo<'a>>,
    /// Entries of the op being parsed that came from `attr_memo` or were
    /// interned as they were parsed.
    op_shared: SmallVec<[Arc<NamedAttr>; 4]>,
    /// How deeply the regions, attributes, types and locations being parsed
    /// nest: a hostile file nesting 10^5 levels must not overflow the stack.
    depth: Depth,
}

/// The last value parsed for an attribute key of op dictionaries.
struct Memo<'a> {
    key: &'a str,
    /// The value's source text.
    text: &'a str,
    entry: Arc<NamedAttr>,
    /// How many values in a row the uniquer had not seen before: a key
    /// whose values are all different (`layer = "conv17"`) stops going
    /// through the uniquer, except for every [`Memo::PROBE`]th value.
    misses: u32,
}

impl Memo<'_> {
    const PROBE: u32 = 64;

    fn worth_uniquing(&self) -> bool {
        self.misses < Self::PROBE || self.misses.is_multiple_of(Self::PROBE)
    }
}

/// A parsed dictionary entry: already shared, or a value for the caller's list.
enum Entry {
    Shared(Arc<NamedAttr>),
    Owned(Attribute),
}

const PLACEHOLDER: &str = "builtin.forward_ref";

/// Parses a whole file into a module. `file` names the source in locations.
pub fn parse_module(ctx: &Context, file: &str, src: &str) -> PResult<Module> {
    let mut p = Parser::new(ctx, file, src);
    p.parse_top_level()?;
    Ok(p.m)
}

impl<'a> Parser<'a> {
    pub fn new(ctx: &'a Context, file: &str, src: &'a str) -> Parser<'a> {
        let bytes = src.as_bytes();
        let lines = count_newlines(bytes) + 1;
        let start = lexer::skip_trivia(bytes, 0);
        let mut m = Module::new(None);
        m.reserve(lines, lines + 8);
        Parser {
            src,
            bytes,
            file: Sym::new(file),
            tok: lexer::lex(bytes, start),
            prev_end: 0,
            line_cache: std::cell::Cell::new((0, 0, 0)),
            ctx,
            m,
            scopes: Vec::new(),
            type_cache: FxHashMap::default(),
            last_tensor_type: None,
            sym_cache: FxHashMap::default(),
            last_op: None,
            last_keys: SmallVec::new(),
            uniquer: AttrUniquer::default(),
            attr_scratch: Vec::new(),
            attr_memo: Vec::new(),
            op_shared: SmallVec::new(),
            depth: Depth::default(),
        }
    }

    /// Runs `f` one nesting level deeper; past the limit, an error at the
    /// current token instead.
    fn nested<T>(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Self) -> PResult<T>,
    ) -> PResult<T> {
        if let Err(e) = self.depth.enter(what) {
            return Err(self.error_at(self.tok.start, format_args!("{e}")));
        }
        let r = f(self);
        self.depth.leave();
        r
    }

    // ----- token helpers -------------------------------------------------

    pub fn kind(&self) -> Tok {
        self.tok.kind
    }

    pub fn text(&self) -> &'a str {
        &self.src[self.tok.start..self.tok.end]
    }

    fn bump(&mut self) -> Token {
        let t = self.tok;
        self.prev_end = t.end;
        self.reset_to(t.end);
        t
    }

    /// Consumes the source up to `end` (a token boundary) as if bumped.
    fn skip_to(&mut self, end: usize) {
        self.prev_end = end;
        self.reset_to(end);
    }

    fn reset_to(&mut self, pos: usize) {
        let start = lexer::skip_trivia(self.bytes, pos);
        self.tok = lexer::lex(self.bytes, start);
    }

    pub fn loc_at(&self, offset: usize) -> Location {
        let (at, mut line, mut start) = self.line_cache.get();
        if offset >= at {
            let seg = &self.bytes[at..offset];
            if let Some(last) = memchr::memrchr(b'\n', seg) {
                // Usually the segment holds one newline (from the last op to this one).
                let before = &seg[..last];
                line += 1 + memchr::memchr(b'\n', before).map_or(0, |_| count_newlines(before));
                start = at + last + 1;
            }
        } else {
            let n = count_newlines(&self.bytes[offset..at]);
            if n > 0 {
                line -= n;
                start = memchr::memrchr(b'\n', &self.bytes[..offset]).map_or(0, |p| p + 1);
            }
        }
        self.line_cache.set((offset, line, start));
        let prefix = &self.src[start..offset];
        let col = if prefix.is_ascii() {
            prefix.len()
        } else {
            prefix.chars().count()
        } + 1;
        Location::Src {
            file: self.file,
            line: line as u32 + 1,
            col: col as u32,
        }
    }

    /// Byte offset of the current token (turn into a location with [`Self::loc_at`] only on error).
    pub fn offset(&self) -> usize {
        self.tok.start
    }

    pub fn here(&self) -> Location {
        self.loc_at(self.tok.start)
    }

    /// An error at byte `offset`. Cold and out of line, like the other
    /// error constructors, so message formatting stays out of the hot paths.
    #[cold]
    #[inline(never)]
    pub fn error_at(&self, offset: usize, msg: std::fmt::Arguments<'_>) -> Box<Diagnostic> {
        Box::new(Diagnostic::error(self.loc_at(offset), msg.to_string()))
    }

    #[cold]
    #[inline(never)]
    pub fn error<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(Box::new(Diagnostic::error(self.here(), msg)))
    }

    #[cold]
    fn found(&self) -> String {
        match self.tok.kind {
            Tok::Eof => "end of file".to_owned(),
            Tok::Error => format!("invalid character '{}'", self.text()),
            _ => format!("'{}'", self.text()),
        }
    }

    #[cold]
    #[inline(never)]
    pub fn expected<T>(&self, what: &str) -> PResult<T> {
        self.error(format!("expected {what}, found {}", self.found()))
    }

    pub fn consume_if(&mut self, k: Tok) -> bool {
        if self.tok.kind == k {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, k: Tok) -> PResult<Token> {
        if self.tok.kind == k {
            Ok(self.bump())
        } else {
            self.expected(describe(k))
        }
    }

    pub fn is_keyword(&self, kw: &str) -> bool {
        self.tok.kind == Tok::Ident && self.text() == kw
    }

    pub fn consume_keyword(&mut self, kw: &str) -> bool {
        if self.is_keyword(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// A `@symbol` name without the `@`.
    pub fn parse_symbol_name(&mut self) -> PResult<String> {
        if self.tok.kind != Tok::AtId {
            return self.expected("symbol name (e.g. @main)");
        }
        let t = self.bump();
        let raw = &self.src[t.start + 1..t.end];
        if raw.starts_with('"') {
            lexer::unescape(raw).map_err(|e| Box::new(Diagnostic::error(self.loc_at(t.start), e)))
        } else {
            Ok(raw.to_owned())
        }
    }

    // ----- top level -----------------------------------------------------

    fn parse_top_level(&mut self) -> PResult<()> {
        self.scopes.push(Scope {
            isolated: true,
            ..Scope::default()
        });
        let body = self.m.body();
        while !matches!(self.tok.kind, Tok::Eof | Tok::FileMetaBegin) {
            self.parse_op(body)?;
        }
        self.pop_scope()?;
        if self.tok.kind == Tok::FileMetaBegin {
            self.parse_file_metadata()?;
        }
        if self.tok.kind != Tok::Eof {
            return self.expected("end of file");
        }
        let ops = self.m.block_ops(body);
        if ops.len() == 1 && self.m.op(ops[0]).name_str() == crate::builtin::MODULE {
            self.m.promote_single_child();
        }
        Ok(())
    }

    fn parse_file_metadata(&mut self) -> PResult<()> {
        self.expect(Tok::FileMetaBegin)?;
        loop {
            if self.tok.kind != Tok::Ident {
                return self.expected("'dialect_resources'");
            }
            let section = self.text();
            if section != "dialect_resources" {
                return self.error(format!(
                    "unknown file metadata section '{section}'; expected 'dialect_resources'"
                ));
            }
            self.bump();
            self.expect(Tok::Colon)?;
            self.expect(Tok::LBrace)?;
            while self.tok.kind != Tok::RBrace {
                self.parse_key()?; // dialect name
                self.expect(Tok::Colon)?;
                self.expect(Tok::LBrace)?;
                while self.tok.kind != Tok::RBrace {
                    let key = self.parse_key()?;
                    self.expect(Tok::Colon)?;
                    if self.tok.kind != Tok::Str {
                        return self.expected("hex string blob (\"0x...\")");
                    }
                    let at = self.here();
                    let lit = self.parse_string()?;
                    let blob =
                        Blob::from_hex(&lit).map_err(|e| Box::new(Diagnostic::error(at, e)))?;
                    self.m.resources.insert(&key, blob);
                    if !self.consume_if(Tok::Comma) {
                        break;
                    }
                }
                self.expect(Tok::RBrace)?;
                if !self.consume_if(Tok::Comma) {
                    break;
                }
            }
            self.expect(Tok::RBrace)?;
            if !self.consume_if(Tok::Comma) {
                break;
            }
        }
        self.expect(Tok::FileMetaEnd)?;
        Ok(())
    }

    fn parse_key(&mut self) -> PResult<String> {
        match self.tok.kind {
            Tok::Ident => Ok(self.bump_text().to_owned()),
            Tok::Str => self.parse_string(),
            _ => self.expected("identifier or string key"),
        }
    }

    /// Interns an identifier of the source through the parser's cache.
    fn sym(&mut self, text: &'a str) -> Sym {
        *self.sym_cache.entry(text).or_insert_with(|| Sym::new(text))
    }

    fn bump_text(&mut self) -> &'a str {
        let t = self.bump();
        &self.src[t.start..t.end]
    }

    pub fn parse_string(&mut self) -> PResult<String> {
        self.parse_str().map(Cow::into_owned)
    }

    /// A string literal's value, borrowed from the source when it has no escapes.
    fn parse_str(&mut self) -> PResult<Cow<'a, str>> {
        if self.tok.kind != Tok::Str {
            return self.expected("string");
        }
        let t = self.bump();
        let lit = &self.src[t.start..t.end];
        let plain = match lit.len() {
            // Short literals (names) are cheaper to scan in line.
            0..=32 => lit.bytes().all(|b| b != b'\\'),
            _ => memchr::memchr(b'\\', lit.as_bytes()).is_none(),
        };
        if plain {
            return Ok(Cow::Borrowed(&lit[1..lit.len() - 1]));
        }
        lexer::unescape(lit)
            .map(Cow::Owned)
            .map_err(|e| Box::new(Diagnostic::error(self.loc_at(t.start), e)))
    }

    // ----- scopes and values -------------------------------------------

    fn pop_scope(&mut self) -> PResult<()> {
        let scope = self.scopes.pop().expect("scope stack underflow");
        if let Some((name, (_, loc))) = scope.forward.iter().min_by_key(|(_, (_, l))| l.file_pos())
        {
            return Err(Box::new(Diagnostic::error(
                loc.clone(),
                format!("use of undefined value '%{name}'"),
            )));
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<SmallVec<[ValueId; 1]>> {
        let number = name_number(name);
        for s in self.scopes.iter().rev() {
            if let Some(v) = s.get(&self.m, name, number) {
                return Some(v);
            }
            if s.isolated {
                break;
            }
        }
        None
    }

    /// Splits `%name#3` into (`name`, 3).
    fn split_value_ref(text: &'a str) -> (&'a str, usize) {
        let body = &text[1..];
        match body.bytes().rposition(|b| b == b'#') {
            Some(at) => (&body[..at], body[at + 1..].parse().unwrap_or(usize::MAX)),
            None => (body, 0),
        }
    }

    /// Parses a `%value` use; `ty` is required when the value may be a forward reference.
    pub fn parse_operand(&mut self, ty: Option<Type>) -> PResult<ValueId> {
        if self.tok.kind != Tok::ValueId {
            return self.expected("SSA operand (e.g. %0)");
        }
        let at_offset = self.tok.start;
        let text = self.bump_text();
        let (name, idx) = Self::split_value_ref(text);
        if let Some(vals) = self.lookup(name) {
            let Some(&v) = vals.get(idx) else {
                return Err(self.error_at(
                    at_offset,
                    format_args!(
                        "'%{name}' has {} result(s); '#{idx}' is out of range",
                        vals.len()
                    ),
                ));
            };
            if let Some(t) = ty {
                let actual = self.m.value_type(v);
                if actual != t {
                    return Err(self.error_at(at_offset, format_args!("use of value '%{name}' expects type '{t}', but it was defined with type '{actual}'")));
                }
            }
            return Ok(v);
        }
        let key = &text[1..];
        let Some(t) = ty else {
            return Err(self.error_at(at_offset, format_args!("use of undefined value '%{name}'")));
        };
        let scope = self.scopes.last_mut().expect("no scope");
        if let Some((v, _)) = scope.forward.get(key) {
            let v = *v;
            let actual = self.m.value_type(v);
            if actual != t {
                return Err(self.error_at(at_offset, format_args!("use of value '%{name}' expects type '{t}', but an earlier use had type '{actual}'")));
            }
            return Ok(v);
        }
        let ph = self.m.create_op(OpSpec::new(PLACEHOLDER).results(&[t]));
        let v = self.m.result(ph, 0);
        let use_loc = self.loc_at(at_offset);
        self.scopes
            .last_mut()
            .expect("no scope")
            .forward
            .insert(key, (v, use_loc));
        Ok(v)
    }

    fn define_values(
        &mut self,
        name: &'a str,
        vals: SmallVec<[ValueId; 1]>,
        at_offset: usize,
    ) -> PResult<()> {
        let number = name_number(name);
        if self
            .scopes
            .last()
            .expect("no scope")
            .get(&self.m, name, number)
            .is_some()
        {
            return Err(self.error_at(
                at_offset,
                format_args!("redefinition of SSA value '%{name}'"),
            ));
        }
        if !self.scopes.last().expect("no scope").forward.is_empty() {
            self.resolve_forward_refs(name, &vals, at_offset)?;
        }
        self.scopes
            .last_mut()
            .expect("no scope")
            .define(name, number, vals);
        Ok(())
    }

    /// Replaces the placeholders of earlier uses of `%name` (or `%name#i`)
    /// by the values now defined.
    fn resolve_forward_refs(
        &mut self,
        name: &str,
        vals: &[ValueId],
        at_offset: usize,
    ) -> PResult<()> {
        for (i, &v) in vals.iter().enumerate() {
            let key_owned;
            let key: &str = if vals.len() == 1 {
                name
            } else {
                key_owned = format!("{name}#{i}");
                &key_owned
            };
            let fwd = self
                .scopes
                .last_mut()
                .expect("no scope")
                .forward
                .remove(key);
            if let Some((ph, use_loc)) = fwd {
                let (pt, vt) = (self.m.value_type(ph), self.m.value_type(v));
                if pt != vt {
                    return Err(Box::new(
                        Diagnostic::error(
                            self.loc_at(at_offset),
                            format!("definition of '%{key}' has type '{vt}'"),
                        )
                        .with_note(use_loc, format!("but it was used earlier with type '{pt}'")),
                    ));
                }
                let ph_op = self.m.defining_op(ph).expect("placeholder has an op");
                self.m.replace_all_uses(ph, v);
                self.m.erase_op(ph_op);
            }
        }
        Ok(())
    }

    // ----- ops ------------------------------------------------------------

    /// Parses one op and appends it to `block`.
    pub fn parse_op(&mut self, block: BlockId) -> PResult<()> {
        let op_start = self.here();
        let mut results: SmallVec<[(&'a str, usize, usize); 1]> = SmallVec::new();
        if self.tok.kind == Tok::ValueId {
            loop {
                let at_offset = self.tok.start;
                let text = self.bump_text();
                if text.bytes().any(|b| b == b'#') {
                    return Err(self.error_at(
                        at_offset,
                        format_args!("result names cannot carry a '#N' suffix"),
                    ));
                }
                let mut count = 1;
                if self.tok.kind == Tok::Colon {
                    self.bump();
                    if self.tok.kind != Tok::Int {
                        return self.expected("result count after ':'");
                    }
                    count = self.bump_text().parse().unwrap_or(0);
                    if count == 0 {
                        return Err(self.error_at(
                            at_offset,
                            format_args!("result group count must be at least 1"),
                        ));
                    }
                }
                results.push((&text[1..], count, at_offset));
                if !self.consume_if(Tok::Comma) {
                    break;
                }
                if self.tok.kind != Tok::ValueId {
                    return self.expected("SSA result name");
                }
            }
            self.expect(Tok::Equal)?;
        }
        let num_results: usize = results.iter().map(|r| r.1).sum();
        let name_offset = self.tok.start;
        let mut state = match self.tok.kind {
            Tok::Str => self.parse_generic_op()?,
            Tok::Ident => self.parse_custom_op(num_results)?,
            _ => return self.expected("operation name"),
        };
        state.loc = if self.is_keyword("loc") {
            self.parse_trailing_loc()?.with_src(op_start)
        } else {
            op_start
        };
        if state.result_types.len() != num_results {
            return Err(self.error_at(
                name_offset,
                format_args!(
                    "operation defines {} result(s) but {num_results} name(s) were given",
                    state.result_types.len()
                ),
            ));
        }
        let regions = std::mem::take(&mut state.regions);
        let mut attrs = std::mem::take(&mut state.attrs);
        let entries: SmallVec<[Arc<NamedAttr>; 2]> = self
            .op_shared
            .drain(..)
            .chain(attrs.drain(..).map(|e| self.uniquer.intern(e)))
            .collect();
        let dict = if entries
            .iter()
            .map(|e| e.0)
            .eq(self.last_keys.iter().copied())
        {
            AttrDict::from_sorted_entries(entries)
        } else {
            let dict = AttrDict::from_entries(entries);
            self.last_keys = dict.view().iter().map(|e| e.0).collect();
            dict
        };
        self.attr_scratch = attrs;
        let op = self.m.create_op_with_dict(
            state.name,
            &state.operands,
            &state.result_types,
            dict,
            regions.len(),
            state.loc,
        );
        if !regions.is_empty() {
            self.attach_regions(op, regions);
        }
        self.m.append_op(block, op);
        let mut next = 0;
        for (name, count, at) in results {
            let vals = SmallVec::from_slice(&self.m.op(op).results()[next..next + count]);
            next += count;
            self.define_values(name, vals, at)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn attach_regions(&mut self, op: crate::module::OpId, regions: Vec<Vec<BlockId>>) {
        for (r, blocks) in self.m.op(op).regions().to_vec().into_iter().zip(regions) {
            for b in blocks {
                self.m.attach_block(r, b);
            }
        }
    }

    fn check_registered(&self, name: &str, at: Location) -> PResult<()> {
        if self.ctx.op_def(name).is_some() || self.ctx.allow_unregistered {
            return Ok(());
        }
        let dialect = Context::dialect_of(name);
        let msg = if self.ctx.dialect(dialect).is_some() {
            format!("'{name}' is not an operation of the registered dialect '{dialect}'")
        } else {
            format!(
                "operation '{name}' belongs to the unregistered dialect '{dialect}' \
                 (use --allow-unregistered-dialect to accept it)"
            )
        };
        Err(Box::new(Diagnostic::error(at, msg)))
    }

    fn parse_generic_op(&mut self) -> PResult<OpState> {
        let at = self.here();
        let name = self.parse_string()?;
        if name.is_empty() {
            return Err(Box::new(Diagnostic::error(
                at,
                "operation name cannot be empty",
            )));
        }
        self.check_registered(&name, at.clone())?;
        self.expect(Tok::LParen)?;
        let mut operand_refs = Vec::new();
        if self.tok.kind != Tok::RParen {
            loop {
                if self.tok.kind != Tok::ValueId {
                    return self.expected("SSA operand");
                }
                operand_refs.push(self.tok);
                self.bump();
                if !self.consume_if(Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(Tok::RParen)?;
        let mut regions = Vec::new();
        if self.tok.kind == Tok::LParen {
            self.bump();
            loop {
                let isolated = self
                    .ctx
                    .has_trait(&name, crate::dialect::Traits::ISOLATED_FROM_ABOVE);
                regions.push(self.parse_region(&[], isolated)?);
                if !self.consume_if(Tok::Comma) {
                    break;
                }
            }
            self.expect(Tok::RParen)?;
        }
        let mut attrs = std::mem::take(&mut self.attr_scratch);
        if self.tok.kind == Tok::LBrace {
            self.parse_op_attr_dict(&mut attrs)?;
        }
        self.expect(Tok::Colon)?;
        let fty_at = self.here();
        let fty = self.parse_type()?;
        let Some((inputs, results)) = fty.function_parts() else {
            return Err(Box::new(Diagnostic::error(
                fty_at,
                format!("expected function type '(operand types) -> result types', found '{fty}'"),
            )));
        };
        if inputs.len() != operand_refs.len() {
            return Err(Box::new(Diagnostic::error(
                fty_at,
                format!(
                    "operation has {} operand(s) but its type lists {}",
                    operand_refs.len(),
                    inputs.len()
                ),
            )));
        }
        let resume = self.tok.start;
        let mut operands = Vec::with_capacity(inputs.len());
        for (tok, ty) in operand_refs.iter().zip(inputs) {
            self.tok = *tok;
            operands.push(self.parse_operand(Some(*ty))?);
        }
        self.reset_to(resume);
        Ok(OpState {
            name: Sym::new(&name),
            operands: SmallVec::from_vec(operands),
            result_types: SmallVec::from_slice(results),
            attrs,
            regions,
            loc: Location::Unknown,
        })
    }

    fn parse_custom_op(&mut self, num_results: usize) -> PResult<OpState> {
        let at_offset = self.tok.start;
        let name = self.bump_text();
        let (sym, def) = match self.last_op.filter(|(last, ..)| *last == name) {
            Some((_, sym, def)) => (sym, def),
            None => {
                let (sym, def) = (self.sym(name), self.ctx.op_def(name));
                self.last_op = Some((name, sym, def));
                (sym, def)
            }
        };
        let mut state = OpState {
            name: sym,
            operands: SmallVec::new(),
            result_types: SmallVec::new(),
            attrs: std::mem::take(&mut self.attr_scratch),
            regions: Vec::new(),
            loc: Location::Unknown,
        };
        let Some(def) = def else {
            let at = self.loc_at(at_offset);
            if !name.contains('.') {
                return Err(Box::new(Diagnostic::error(
                    at,
                    format!("expected operation name, found '{name}'"),
                )));
            }
            self.check_registered(name, at.clone())?;
            return Err(Box::new(Diagnostic::error(
                at,
                format!("unregistered operation '{name}' must be written in the generic form (\"{name}\"(...))"),
            )));
        };
        match def.syntax {
            Syntax::Custom(c) => c.parse(self, &mut state)?,
            Syntax::Default => {
                self.parse_operand_list(&mut state.operands)?;
                if self.tok.kind == Tok::LBrace {
                    self.parse_op_attr_dict(&mut state.attrs)?;
                }
                if num_results > 0 {
                    self.expect(Tok::Colon)?;
                    state.result_types.push(self.parse_type()?);
                    while self.consume_if(Tok::Comma) {
                        state.result_types.push(self.parse_type()?);
                    }
                }
            }
            Syntax::OperandTypes => {
                let refs = self.collect_operand_refs()?;
                if self.tok.kind == Tok::LBrace {
                    self.parse_op_attr_dict(&mut state.attrs)?;
                }
                let mut types = Vec::new();
                if !refs.is_empty() {
                    self.expect(Tok::Colon)?;
                    types = self.parse_type_list()?;
                }
                if types.len() != refs.len() {
                    return self.error(format!(
                        "expected {} operand type(s), found {}",
                        refs.len(),
                        types.len()
                    ));
                }
                let resume = self.tok.start;
                for (tok, ty) in refs.iter().zip(types) {
                    self.tok = *tok;
                    state.operands.push(self.parse_operand(Some(ty))?);
                }
                self.reset_to(resume);
            }
            Syntax::Generic => {
                return Err(self.error_at(
                    at_offset,
                    format_args!(
                    "'{name}' has no custom form; write it in the generic form (\"{name}\"(...))"
                ),
                ))
            }
        }
        Ok(state)
    }

    fn collect_operand_refs(&mut self) -> PResult<Vec<Token>> {
        let mut refs = Vec::new();
        if self.tok.kind == Tok::ValueId {
            loop {
                refs.push(self.expect(Tok::ValueId)?);
                if !self.consume_if(Tok::Comma) {
                    break;
                }
            }
        }
        Ok(refs)
    }

    /// `%a, %b, ...` (possibly empty), each already defined.
    pub fn parse_operand_list(&mut self, out: &mut SmallVec<[ValueId; 4]>) -> PResult<()> {
        if self.tok.kind != Tok::ValueId {
            return Ok(());
        }
        loop {
            out.push(self.parse_operand(None)?);
            if !self.consume_if(Tok::Comma) {
                return Ok(());
            }
        }
    }

    /// `{` [`^bb(%a: t, ...):`] ops `}` as one detached block; `args` are
    /// predeclared block arguments (e.g. a graph's signature).
    pub fn parse_region(
        &mut self,
        args: &[(&'a str, Type, usize)],
        isolated: bool,
    ) -> PResult<Vec<BlockId>> {
        self.nested("regions", |p| p.parse_region_body(args, isolated))
    }

    fn parse_region_body(
        &mut self,
        args: &[(&'a str, Type, usize)],
        isolated: bool,
    ) -> PResult<Vec<BlockId>> {
        self.expect(Tok::LBrace)?;
        self.scopes.push(Scope {
            isolated,
            ..Scope::default()
        });
        let block = self.m.new_detached_block();
        for (name, ty, at) in args {
            let v = self.m.add_block_arg(block, *ty);
            self.define_values(name, smallvec::smallvec![v], *at)?;
        }
        if self.tok.kind == Tok::BlockId {
            if !args.is_empty() {
                return self
                    .error("this region's arguments are given by the op; remove the block label");
            }
            self.bump();
            if self.consume_if(Tok::LParen) && !self.consume_if(Tok::RParen) {
                loop {
                    let at = self.tok.start;
                    if self.tok.kind != Tok::ValueId {
                        return self.expected("block argument (%name: type)");
                    }
                    let name = &self.bump_text()[1..];
                    self.expect(Tok::Colon)?;
                    let ty = self.parse_type()?;
                    let v = self.m.add_block_arg(block, ty);
                    self.define_values(name, smallvec::smallvec![v], at)?;
                    if !self.consume_if(Tok::Comma) {
                        break;
                    }
                }
                self.expect(Tok::RParen)?;
            }
            self.expect(Tok::Colon)?;
        }
        while self.tok.kind != Tok::RBrace {
            if self.tok.kind == Tok::Eof {
                return self.expected("'}' to close the region");
            }
            if self.tok.kind == Tok::BlockId {
                return self.error("only single-block regions are supported");
            }
            self.parse_op(block)?;
        }
        self.bump();
        self.pop_scope()?;
        Ok(vec![block])
    }

    // ----- locations ----------------------------------------------------

    /// `loc(...)` after an op; the current token is the `loc` keyword.
    fn parse_trailing_loc(&mut self) -> PResult<Location> {
        self.bump();
        self.expect(Tok::LParen)?;
        let l = self.parse_loc_inner()?;
        self.expect(Tok::RParen)?;
        Ok(l)
    }

    fn parse_loc_inner(&mut self) -> PResult<Location> {
        self.nested("locations", Self::parse_loc_body)
    }

    fn parse_loc_body(&mut self) -> PResult<Location> {
        if self.consume_keyword("unknown") {
            return Ok(Location::Unknown);
        }
        if self.consume_keyword("fused") {
            self.expect(Tok::LBracket)?;
            let mut locs = Vec::new();
            if self.tok.kind != Tok::RBracket {
                loop {
                    locs.push(self.parse_loc_inner()?);
                    if !self.consume_if(Tok::Comma) {
                        break;
                    }
                }
            }
            self.expect(Tok::RBracket)?;
            return Ok(Location::Fused(locs.into_boxed_slice()));
        }
        if self.tok.kind != Tok::Str {
            return self.expected("location (\"name\", \"file\":line:col, fused[...] or unknown)");
        }
        let s = self.parse_str()?;
        if self.consume_if(Tok::Colon) {
            let line = self.parse_u32()?;
            self.expect(Tok::Colon)?;
            let col = self.parse_u32()?;
            return Ok(Location::FileLineCol {
                file: Sym::new(&s),
                line,
                col,
            });
        }
        let mut child = None;
        if self.consume_if(Tok::LParen) {
            child = Some(Box::new(self.parse_loc_inner()?));
            self.expect(Tok::RParen)?;
        }
        Ok(Location::Name {
            name: Sym::new(&s),
            child,
        })
    }

    fn parse_u32(&mut self) -> PResult<u32> {
        if self.tok.kind != Tok::Int {
            return self.expected("integer");
        }
        match self.text().parse() {
            Ok(v) => {
                self.bump();
                Ok(v)
            }
            Err(_) => self.error(format!("integer '{}' is out of range", self.text())),
        }
    }

    // ----- types ----------------------------------------------------------

    pub fn parse_type_list(&mut self) -> PResult<Vec<Type>> {
        let mut out = vec![self.parse_type()?];
        while self.consume_if(Tok::Comma) {
            out.push(self.parse_type()?);
        }
        Ok(out)
    }

    pub fn parse_type(&mut self) -> PResult<Type> {
        self.nested("types", Self::parse_type_body)
    }

    fn parse_type_body(&mut self) -> PResult<Type> {
        match self.tok.kind {
            Tok::Ident => {
                let text = self.text();
                let ty = match text {
                    "f16" => Type::f16(),
                    "bf16" => Type::bf16(),
                    "f32" => Type::f32(),
                    "f64" => Type::f64(),
                    "index" => Type::index(),
                    "tensor" => return self.parse_tensor_type(),
                    _ => match parse_int_type(text) {
                        Some(t) => t,
                        None => return self.expected("type"),
                    },
                };
                self.bump();
                Ok(ty)
            }
            Tok::LParen => {
                self.bump();
                let mut inputs = Vec::new();
                if self.tok.kind != Tok::RParen {
                    inputs = self.parse_type_list()?;
                }
                self.expect(Tok::RParen)?;
                self.expect(Tok::Arrow)?;
                let results = if self.consume_if(Tok::LParen) {
                    let mut r = Vec::new();
                    if self.tok.kind != Tok::RParen {
                        r = self.parse_type_list()?;
                    }
                    self.expect(Tok::RParen)?;
                    r
                } else {
                    vec![self.parse_type()?]
                };
                Ok(Type::function(inputs, results))
            }
            Tok::BangId => {
                let text = &self.text()[1..];
                let Some((dialect, body)) = text.split_once('.') else {
                    return self.error(format!(
                        "dialect type '!{text}' must be written '!dialect.name'"
                    ));
                };
                let ty = Type::dialect(dialect, body);
                self.bump();
                Ok(ty)
            }
            _ => self.expected("type"),
        }
    }

    fn parse_tensor_type(&mut self) -> PResult<Type> {
        let start = self.tok.start;
        let rest = &self.src[start..];
        // A complete `tensor<...>` text ends where the source's type ends.
        if let Some((text, t)) = self
            .last_tensor_type
            .filter(|(text, _)| rest.starts_with(text))
        {
            self.skip_to(start + text.len());
            return Ok(t);
        }
        if let Some(end) = lexer::balanced_angle_end(self.bytes, self.tok.end) {
            let text = &self.src[start..end];
            if let Some(&t) = self.type_cache.get(text) {
                self.last_tensor_type = Some((text, t));
                self.skip_to(end);
                return Ok(t);
            }
        }
        let t = self.parse_tensor_type_uncached()?;
        let text = &self.src[start..self.prev_end];
        self.type_cache.insert(text, t);
        self.last_tensor_type = Some((text, t));
        Ok(t)
    }

    fn parse_tensor_type_uncached(&mut self) -> PResult<Type> {
        let kw = self.bump();
        if self.tok.kind != Tok::Less || self.tok.start != kw.end {
            return self.expected("'<' right after 'tensor'");
        }
        let mut pos = self.tok.end;
        let mut shape = Vec::new();
        loop {
            let start = pos;
            while pos < self.bytes.len() && self.bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos == start {
                if matches!(self.bytes.get(pos), Some(b'?')) {
                    return Err(self.error_at(
                        pos,
                        format_args!(
                            "dynamic dimensions are not supported: tensors have static shapes"
                        ),
                    ));
                }
                break;
            }
            if self.bytes.get(pos) != Some(&b'x') {
                return Err(self.error_at(pos, format_args!("expected 'x' after tensor dimension")));
            }
            let dim: i64 = self.src[start..pos].parse().map_err(|_| {
                self.error_at(start, format_args!("tensor dimension is out of range"))
            })?;
            shape.push(dim);
            pos += 1;
        }
        if let Err(e) = hailo_guard::limits::check_shape(&shape) {
            return Err(self.error_at(kw.start, format_args!("tensor type has {e}")));
        }
        self.tok = lexer::lex(self.bytes, pos);
        // Refused before parsing it: recursing into `tensor<tensor<...` costs
        // a scan of the rest of the type per level.
        if self.tok.kind == Tok::LParen || self.is_keyword("tensor") {
            return self.error("tensor element type must be a scalar type");
        }
        let elem = self.parse_type()?;
        self.expect(Tok::Greater)?;
        Ok(Type::tensor(&shape, elem))
    }

    // ----- attributes ---------------------------------------------------

    /// `{key = value, flag, ...}` appended to `out` (duplicates are errors).
    pub fn parse_attr_dict(&mut self, out: &mut Vec<(Sym, Attribute)>) -> PResult<()> {
        self.parse_attr_dict_with(out, false)
    }

    /// The dictionary of the op being parsed: `key = value` entries go to
    /// `self.op_shared` as shared entries, and a value written exactly like
    /// the last value of its key is not parsed again.
    fn parse_op_attr_dict(&mut self, out: &mut Vec<(Sym, Attribute)>) -> PResult<()> {
        self.parse_attr_dict_with(out, true)
    }

    fn parse_attr_dict_with(
        &mut self,
        out: &mut Vec<(Sym, Attribute)>,
        shared: bool,
    ) -> PResult<()> {
        self.expect(Tok::LBrace)?;
        if self.consume_if(Tok::RBrace) {
            return Ok(());
        }
        loop {
            let at_offset = self.tok.start;
            let memo = if shared && self.tok.kind == Tok::Ident {
                self.attr_memo.iter().position(|m| m.key == self.text())
            } else {
                None
            };
            let (k, key) = match (self.tok.kind, memo) {
                (Tok::Ident, Some(i)) => {
                    let key = self.bump_text();
                    (self.attr_memo[i].entry.0, Cow::Borrowed(key))
                }
                (Tok::Ident, None) => {
                    let key = self.bump_text();
                    (self.sym(key), Cow::Borrowed(key))
                }
                (Tok::Str, _) => {
                    let key = self.parse_str()?;
                    (Sym::new(&key), key)
                }
                _ => return self.expected("attribute name"),
            };
            let has_value = self.consume_if(Tok::Equal);
            let entry = match (shared && has_value).then(|| memo.and_then(|i| self.memo_hit(i))) {
                Some(Some(e)) => Entry::Shared(e),
                Some(None) => {
                    let start = self.tok.start;
                    let value = self.parse_attr()?;
                    let (e, seen) = if memo.is_none_or(|i| self.attr_memo[i].worth_uniquing()) {
                        self.uniquer.find_or_insert((k, value))
                    } else {
                        (Arc::new((k, value)), false)
                    };
                    if let Cow::Borrowed(key) = key {
                        let text = &self.src[start..self.prev_end];
                        self.remember(memo, key, text, e.clone(), seen);
                    }
                    Entry::Shared(e)
                }
                None if has_value => Entry::Owned(self.parse_attr()?),
                None => Entry::Owned(Attribute::Unit),
            };
            if out.iter().any(|(x, _)| *x == k)
                || (shared && self.op_shared.iter().any(|e| e.0 == k))
            {
                return Err(self.error_at(at_offset, format_args!("duplicate attribute '{key}'")));
            }
            match entry {
                Entry::Shared(e) => self.op_shared.push(e),
                Entry::Owned(value) => out.push((k, value)),
            }
            if !self.consume_if(Tok::Comma) {
                break;
            }
        }
        if self.tok.kind != Tok::RBrace {
            return self.expected("',' or '}' in attribute dictionary");
        }
        self.bump();
        Ok(())
    }

    /// The memoized entry `i` if the source at the current token repeats
    /// its value text up to a `,` or `}` (then the text is skipped).
    fn memo_hit(&mut self, i: usize) -> Option<Arc<NamedAttr>> {
        let Memo { text, entry, .. } = &self.attr_memo[i];
        let end = self.tok.start + text.len();
        if !self.src[self.tok.start..].starts_with(text) {
            return None;
        }
        let next = lexer::skip_trivia(self.bytes, end);
        if !matches!(self.bytes.get(next), Some(b',' | b'}')) {
            return None;
        }
        let entry = entry.clone();
        self.skip_to(end);
        Some(entry)
    }

    /// Records the last value of an attribute key (in slot `i` if it had
    /// one); `seen` tells whether the uniquer already had the entry.
    fn remember(
        &mut self,
        i: Option<usize>,
        key: &'a str,
        text: &'a str,
        entry: Arc<NamedAttr>,
        seen: bool,
    ) {
        const KEYS: usize = 32;
        let misses = match (seen, i) {
            (true, _) => 0,
            (false, Some(i)) => self.attr_memo[i].misses.saturating_add(1),
            (false, None) => 1,
        };
        let memo = Memo {
            key,
            text,
            entry,
            misses,
        };
        match i {
            Some(i) => self.attr_memo[i] = memo,
            None if self.attr_memo.len() < KEYS => self.attr_memo.push(memo),
            // Full: the newest key replaces the oldest remembered one.
            None => {
                self.attr_memo.remove(0);
                self.attr_memo.push(memo);
            }
        }
    }

    fn parse_number(&mut self, neg_ok: bool) -> PResult<Attribute> {
        let at = self.tok.start;
        let text = self.text();
        let kind = self.tok.kind;
        let _ = neg_ok;
        let num = match kind {
            Tok::Int => {
                let v = parse_int_literal(text).ok_or_else(|| {
                    self.error_at(at, format_args!("integer '{text}' is out of range"))
                })?;
                self.bump();
                Attribute::Int(v, Type::i64())
            }
            Tok::Float => {
                let v: f64 = text
                    .parse()
                    .map_err(|_| self.error_at(at, format_args!("invalid float '{text}'")))?;
                self.bump();
                Attribute::Float(v, Type::f64())
            }
            // How the printer writes non-finite floats.
            Tok::Ident if matches!(text, "nan" | "inf" | "-inf") => {
                let v = match text {
                    "nan" => f64::NAN,
                    "inf" => f64::INFINITY,
                    _ => f64::NEG_INFINITY,
                };
                self.bump();
                Attribute::Float(v, Type::f64())
            }
            _ => return self.expected("number"),
        };
        if !self.consume_if(Tok::Colon) {
            return Ok(num);
        }
        let ty_at = self.here();
        let ty = self.parse_type()?;
        match (num, ty.kind()) {
            (Attribute::Int(v, _), TypeKind::Int { .. } | TypeKind::Index) => {
                Ok(Attribute::Int(v, ty))
            }
            (Attribute::Int(v, _), _) if ty.is_float() => {
                Ok(Attribute::Float(canonical_float(v as f64, ty), ty))
            }
            (Attribute::Float(v, _), _) if ty.is_float() => {
                Ok(Attribute::Float(canonical_float(v, ty), ty))
            }
            (n, _) => Err(Box::new(Diagnostic::error(
                ty_at,
                format!("'{n}' cannot have type '{ty}'"),
            ))),
        }
    }

    pub fn parse_attr(&mut self) -> PResult<Attribute> {
        self.nested("attributes", Self::parse_attr_body)
    }

    fn parse_attr_body(&mut self) -> PResult<Attribute> {
        match self.tok.kind {
            Tok::Int | Tok::Float => self.parse_number(true),
            Tok::Str => Ok(Attribute::Str(self.parse_str()?.as_ref().into())),
            Tok::AtId => Ok(Attribute::SymbolRef(Sym::new(&self.parse_symbol_name()?))),
            Tok::LBracket => {
                self.bump();
                let mut items: SmallVec<[Attribute; 8]> = SmallVec::new();
                if self.tok.kind != Tok::RBracket {
                    loop {
                        items.push(self.parse_attr()?);
                        if !self.consume_if(Tok::Comma) {
                            break;
                        }
                    }
                }
                if self.tok.kind != Tok::RBracket {
                    return self.expected("',' or ']' in array");
                }
                self.bump();
                let mut items = items.into_vec();
                items.shrink_to_fit();
                Ok(Attribute::Array(items))
            }
            Tok::LBrace => {
                let mut entries = Vec::new();
                self.parse_attr_dict(&mut entries)?;
                entries.sort_by_key(|a| a.0);
                Ok(Attribute::Dict(entries))
            }
            Tok::HashId => {
                let text = &self.text()[1..];
                let Some((dialect, body)) = text.split_once('.') else {
                    return self.error(format!(
                        "dialect attribute '#{text}' must be written '#dialect.name'"
                    ));
                };
                let a = Attribute::Dialect {
                    dialect: Sym::new(dialect),
                    body: body.to_owned(),
                };
                self.bump();
                Ok(a)
            }
            Tok::Ident => match self.text() {
                "true" => {
                    self.bump();
                    Ok(Attribute::Bool(true))
                }
                "false" => {
                    self.bump();
                    Ok(Attribute::Bool(false))
                }
                "unit" => {
                    self.bump();
                    Ok(Attribute::Unit)
                }
                "dense" => self.parse_dense(),
                "dense_resource" => self.parse_dense_resource(),
                "nan" | "inf" | "-inf" => self.parse_number(true),
                _ => Ok(Attribute::Type(self.parse_type()?)),
            },
            Tok::LParen | Tok::BangId => Ok(Attribute::Type(self.parse_type()?)),
            _ => self.expected("attribute value"),
        }
    }

    fn parse_dense_resource(&mut self) -> PResult<Attribute> {
        self.bump();
        self.expect(Tok::Less)?;
        let key = match self.tok.kind {
            Tok::Ident => self.bump_text().to_owned(),
            Tok::Str => self.parse_string()?,
            _ => return self.expected("resource key"),
        };
        self.expect(Tok::Greater)?;
        self.expect(Tok::Colon)?;
        let at = self.here();
        let ty = self.parse_type()?;
        if ty.shape().is_none() {
            return Err(Box::new(Diagnostic::error(
                at,
                format!("dense_resource needs a tensor type, found '{ty}'"),
            )));
        }
        Ok(Attribute::DenseResource {
            key: Sym::new(&key),
            ty,
        })
    }

    fn parse_dense(&mut self) -> PResult<Attribute> {
        self.bump();
        self.expect(Tok::Less)?;
        let mut elems: Vec<(Attribute, usize)> = Vec::new();
        let lit_at = self.here();
        let dims = self.parse_dense_elems(&mut elems)?;
        self.expect(Tok::Greater)?;
        self.expect(Tok::Colon)?;
        let ty_at = self.here();
        let ty = self.parse_type()?;
        let Some(_) = ty.shape() else {
            return Err(Box::new(Diagnostic::error(
                ty_at,
                format!("dense needs a tensor type, found '{ty}'"),
            )));
        };
        let n = ty.num_elements() as usize;
        let shape = ty.shape().unwrap_or(&[]);
        if !dims.is_empty()
            && dims.as_slice() != shape
            && !(dims.len() == 1 && dims[0] as usize == n && shape.len() <= 1)
        {
            return Err(Box::new(Diagnostic::error(
                lit_at,
                format!("dense literal has shape {dims:?} but the type '{ty}' has shape {shape:?}"),
            )));
        }
        if elems.len() != 1 && elems.len() != n {
            return Err(Box::new(Diagnostic::error(
                ty_at,
                format!(
                    "dense literal has {} element(s) but '{ty}' holds {n}",
                    elems.len()
                ),
            )));
        }
        let et = ty.element();
        let values = if et.is_float() {
            let mut v = Vec::with_capacity(elems.len());
            for (a, l) in elems {
                match a.as_f64() {
                    Some(x) => v.push(canonical_float(x, et)),
                    None => {
                        return Err(self.error_at(l, format_args!("expected a number for '{et}'")))
                    }
                }
            }
            DenseValues::Floats(v)
        } else if et == Type::i1() {
            let mut v = Vec::with_capacity(elems.len());
            for (a, l) in elems {
                match a {
                    Attribute::Bool(b) => v.push(b),
                    Attribute::Int(i @ (0 | 1), _) => v.push(i == 1),
                    _ => {
                        return Err(
                            self.error_at(l, format_args!("expected true or false for 'i1'"))
                        )
                    }
                }
            }
            DenseValues::Bools(v)
        } else if et.is_integer() {
            let mut v = Vec::with_capacity(elems.len());
            for (a, l) in elems {
                match a {
                    Attribute::Int(i, _) => v.push(i),
                    _ => {
                        return Err(self.error_at(l, format_args!("expected an integer for '{et}'")))
                    }
                }
            }
            DenseValues::Ints(v)
        } else {
            return Err(Box::new(Diagnostic::error(
                ty_at,
                format!("dense does not support element type '{et}'"),
            )));
        };
        Ok(Attribute::dense(ty, values))
    }

    /// Parses a (possibly nested) dense literal; returns its nesting shape
    /// (empty for a scalar) after checking every level is rectangular.
    fn parse_dense_elems(&mut self, out: &mut Vec<(Attribute, usize)>) -> PResult<Vec<i64>> {
        if self.tok.kind == Tok::LBracket {
            return self.nested("dense literals", |p| p.parse_dense_list(out));
        }
        let at = self.tok.start;
        let a = match self.tok.kind {
            Tok::Int => Attribute::Int(
                parse_int_literal(self.text())
                    .ok_or_else(|| self.error_at(at, format_args!("integer is out of range")))?,
                Type::i64(),
            ),
            Tok::Float => Attribute::Float(self.text().parse().unwrap_or(f64::NAN), Type::f64()),
            Tok::Ident => match self.text() {
                "true" => Attribute::Bool(true),
                "false" => Attribute::Bool(false),
                "nan" => Attribute::Float(f64::NAN, Type::f64()),
                "inf" => Attribute::Float(f64::INFINITY, Type::f64()),
                "-inf" => Attribute::Float(f64::NEG_INFINITY, Type::f64()),
                _ => return self.expected("dense element"),
            },
            _ => return self.expected("dense element"),
        };
        self.bump();
        out.push((a, at));
        Ok(Vec::new())
    }

    /// `[elems, ...]` of a dense literal; the current token is the `[`.
    fn parse_dense_list(&mut self, out: &mut Vec<(Attribute, usize)>) -> PResult<Vec<i64>> {
        self.bump();
        let mut inner: Option<Vec<i64>> = None;
        let mut count = 0i64;
        if self.tok.kind != Tok::RBracket {
            loop {
                let at = self.tok.start;
                let d = self.parse_dense_elems(out)?;
                match &inner {
                    Some(prev) if *prev != d => {
                        return Err(self.error_at(at, format_args!("dense literal is not rectangular: element of shape {d:?} next to {prev:?}")))
                    }
                    _ => inner = Some(d),
                }
                count += 1;
                if !self.consume_if(Tok::Comma) {
                    break;
                }
            }
        }
        if self.tok.kind != Tok::RBracket {
            return self.expected("',' or ']' in dense literal");
        }
        self.bump();
        let mut dims = vec![count];
        dims.extend(inner.unwrap_or_default());
        Ok(dims)
    }
}

/// Counts `\n` bytes (vectorized by `memchr`).
fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// Rounds a float to its element type's precision so text and memory agree.
pub fn canonical_float(v: f64, ty: Type) -> f64 {
    match ty.kind() {
        TypeKind::F32 => v as f32 as f64,
        TypeKind::F16 | TypeKind::BF16 => v as f32 as f64,
        _ => v,
    }
}

fn parse_int_literal(text: &str) -> Option<i64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let v = match body.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => body.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn parse_int_type(text: &str) -> Option<Type> {
    let (sign, digits) = if let Some(d) = text.strip_prefix("si") {
        (Signedness::Signed, d)
    } else if let Some(d) = text.strip_prefix("ui") {
        (Signedness::Unsigned, d)
    } else {
        (Signedness::Signless, text.strip_prefix('i')?)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: u32 = digits.parse().ok()?;
    (1..=64).contains(&w).then(|| Type::int(w, sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_newlines_at_every_alignment() {
        let text = "a\n\nbc\n\u{e9}\n0123456789\n\n\n\u{fe0f}x\ny\n\n";
        for start in 0..text.len() {
            let b = &text.as_bytes()[start..];
            let expected = b.iter().filter(|&&c| c == b'\n').count();
            assert_eq!(count_newlines(b), expected, "from byte {start}");
        }
        assert_eq!(count_newlines(&[0x8a; 17]), 0);
        assert_eq!(count_newlines(&[b'\n'; 17]), 17);
    }

    #[test]
    fn named_locations_keep_their_parse_position_inline_and_unprinted() {
        let mut ctx = Context::new();
        ctx.allow_unregistered = true;
        let src = "\"t.a\"() : () -> () loc(\"Conv_1\")\n  \"t.b\"() : () -> () loc(\"Relu\"(\"m.py\":3:4))\n";
        let m = parse_module(&ctx, "t.hir", src).expect("parses");
        let ops = m.block_ops(m.body());
        let (conv, relu) = (&m.op(ops[0]).loc, &m.op(ops[1]).loc);
        assert_eq!(
            *conv,
            Location::NameAt {
                name: Sym::new("Conv_1"),
                file: Sym::new("t.hir"),
                line: 1,
                col: 1
            }
        );
        assert_eq!(conv.file_pos(), Some((Sym::new("t.hir"), 1, 1)));
        assert_eq!(conv.names(), ["Conv_1"]);
        assert_eq!(conv.printable(), Location::name("Conv_1"));
        assert_eq!(conv.to_string(), "\"Conv_1\"");
        // A user-written child wins over the parse position.
        assert_eq!(relu.file_pos(), Some((Sym::new("m.py"), 3, 4)));
        assert_eq!(relu.to_string(), "\"Relu\"(\"m.py\":3:4)");
        let printed = crate::printer::print_module(&m, &ctx, Default::default());
        assert!(printed.contains("loc(\"Conv_1\")\n"), "{printed}");
        assert!(
            printed.contains("loc(\"Relu\"(\"m.py\":3:4))\n"),
            "{printed}"
        );
    }

    #[test]
    fn value_names_that_index_the_numbered_table() {
        assert_eq!(name_number("0"), Some(0));
        assert_eq!(name_number("42"), Some(42));
        assert_eq!(name_number("042"), None);
        assert_eq!(name_number("arg0"), None);
        assert_eq!(name_number(""), None);
        assert_eq!(name_number("1234567890"), None);
    }

    #[test]
    fn repeated_attribute_text_is_reused_only_when_identical() {
        let mut ctx = Context::new();
        ctx.allow_unregistered = true;
        let src = r#""t.a"() {k = 5, s = [1, 1]} : () -> ()
"t.a"() {k = 5 : i32, s = [1, 1]} : () -> ()
"t.a"() {k = 5, s = [1, 12]} : () -> ()
"t.a"() {s = [1, 1] , k = 5} : () -> ()
"t.a"() {k = 5, s = [1, 1], t = {k = 5}} : () -> ()
"t.a"() {k = tensor<2xi64>, s = [1, 1]} : () -> ()
"t.a"() {k = tensor<2xi64>, s = tensor<2xi64>} : () -> ()
"#;
        let m = parse_module(&ctx, "t.hir", src).expect("parses");
        let ops = m.block_ops(m.body());
        let get = |i: usize, k: &str| m.attr(ops[i], k).cloned();
        let i32 = Type::int(32, Signedness::Signless);
        assert_eq!(get(0, "k"), Some(Attribute::i64(5)));
        assert_eq!(get(1, "k"), Some(Attribute::Int(5, i32)));
        assert_eq!(get(2, "s"), Some(Attribute::i64_array(&[1, 12])));
        assert_eq!(get(3, "s"), Some(Attribute::i64_array(&[1, 1])));
        assert_eq!(get(3, "k"), Some(Attribute::i64(5)));
        assert_eq!(
            get(4, "t"),
            Some(Attribute::Dict(vec![(Sym::new("k"), Attribute::i64(5))]))
        );
        assert_eq!(m.op(ops[0]).attrs(), m.op(ops[3]).attrs());
        let t = Attribute::Type(Type::tensor(&[2], Type::i64()));
        assert_eq!(get(5, "k"), Some(t.clone()));
        assert_eq!(get(6, "k"), Some(t.clone()));
        assert_eq!(get(6, "s"), Some(t));
        let dup = parse_module(&ctx, "t.hir", "\"t.a\"() {k = 1, k = 1} : () -> ()\n");
        let err = dup.err().expect("duplicate key is an error");
        assert_eq!(err.message, "duplicate attribute 'k'");
    }

    #[test]
    fn keys_with_ever_new_values_keep_every_value() {
        // After `Memo::PROBE` new values in a row a key skips the uniquer;
        // values, sharing of the repeated key and printing stay the same.
        let mut ctx = Context::new();
        ctx.allow_unregistered = true;
        let names: Vec<String> = (0..150)
            .map(|i| format!("conv{i}"))
            .chain(["conv3".into()])
            .collect();
        let src: String = names
            .iter()
            .map(|n| format!("\"t.a\"() {{layer = \"{n}\", s = [1, 1]}} : () -> ()\n"))
            .collect();
        let m = parse_module(&ctx, "t.hir", &src).expect("parses");
        let ops = m.block_ops(m.body());
        for (op, n) in ops.iter().zip(&names) {
            assert_eq!(m.attr(*op, "layer"), Some(&Attribute::str(n)));
            assert_eq!(m.attr(*op, "s"), Some(&Attribute::i64_array(&[1, 1])));
        }
        let printed = crate::printer::print_module(&m, &ctx, Default::default());
        assert_eq!(printed.matches("layer = \"conv3\"").count(), 2, "{printed}");
    }

    #[test]
    fn runs_of_op_names_types_and_keys_parse_like_single_ops() {
        // Consecutive ops repeat or change their name, result type (types
        // sharing a prefix) and dictionary keys (same keys, other order).
        let mut ctx = Context::new();
        let def = |name| crate::dialect::OpDef::new(name, "test op", crate::dialect::Traits::PURE);
        ctx.register(crate::dialect::Dialect {
            name: "t",
            summary: "test ops",
            ops: vec![def("t.a"), def("t.b")],
            materialize_constant: None,
            verify_regions: None,
        });
        let src = "builtin.module {
  %0 = t.a {x = 1, y = 2} : tensor<1x4xf32>
  %1 = t.a %0 {x = 1, y = 3} : tensor<1x4xf32>
  %2 = t.b %1 {y = 2, x = 1} : tensor<1x4xf16>
  %3 = t.b %2 {x = 1, y = 2} : tensor<1x40xf32>
  %4 = t.a %3 {y = 3} : tensor<1x4xf32>
}
";
        let m = parse_module(&ctx, "t.hir", src).expect("parses");
        let ops = m.block_ops(m.body());
        let f32_1x4 = Type::tensor(&[1, 4], Type::f32());
        let want = [
            ("t.a", f32_1x4, [("x", 1), ("y", 2)].as_slice()),
            ("t.a", f32_1x4, &[("x", 1), ("y", 3)]),
            (
                "t.b",
                Type::tensor(&[1, 4], Type::f16()),
                &[("x", 1), ("y", 2)],
            ),
            (
                "t.b",
                Type::tensor(&[1, 40], Type::f32()),
                &[("x", 1), ("y", 2)],
            ),
            ("t.a", f32_1x4, &[("y", 3)]),
        ];
        assert_eq!(ops.len(), want.len());
        for (&op, (name, ty, attrs)) in ops.iter().zip(want) {
            assert_eq!(m.op(op).name_str(), name);
            assert_eq!(m.value_type(m.result(op, 0)), ty);
            let got: Vec<(&str, i64)> = m
                .op(op)
                .attrs()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_i64().expect("integer")))
                .collect();
            assert_eq!(got, attrs);
        }
    }

    #[test]
    fn locations_follow_the_parser_back_and_forth() {
        let ctx = Context::new();
        let src = "ab\ncd\u{e9}f\n\nxyz";
        let p = Parser::new(&ctx, "t.hir", src);
        let pos = |l: Location| match l {
            Location::Src { line, col, .. } => (line, col),
            other => panic!("not a parse position: {other:?}"),
        };
        assert_eq!(pos(p.loc_at(12)), (4, 3));
        assert_eq!(pos(p.loc_at(1)), (1, 2));
        assert_eq!(pos(p.loc_at(8)), (2, 5));
        assert_eq!(pos(p.loc_at(9)), (3, 1));
        assert_eq!(pos(p.loc_at(10)), (4, 1));
        assert_eq!(pos(p.loc_at(3)), (2, 1));
        assert_eq!(pos(p.loc_at(0)), (1, 1));
    }
}

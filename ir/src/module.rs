//! The IR store: ops, blocks, regions and values in generational arenas.
//!
//! A [`Module`] owns one top-level `builtin.module` op and everything nested in
//! it, plus the blob store of its weights. Ops are generic data (name,
//! operands, results, sorted attributes, regions, location); dialects add
//! typed views on top (see [`crate::define_op`]). Blocks keep their ops in an
//! intrusive doubly linked list so inserting or erasing is O(1), and values
//! keep use-lists so replacing all uses is proportional to the uses.

use crate::arena::{Arena, Idx};
use crate::attrs::Attribute;
use crate::blob::BlobStore;
use crate::intern::Sym;
use crate::location::Location;
use crate::types::Type;
use smallvec::SmallVec;

pub type OpId = Idx<Operation>;
pub type BlockId = Idx<Block>;
pub type RegionId = Idx<Region>;
pub type ValueId = Idx<Value>;

#[derive(Debug)]
pub struct Operation {
    pub name: Sym,
    operands: SmallVec<[ValueId; 3]>,
    results: SmallVec<[ValueId; 1]>,
    /// Sorted by key: printing and hashing are stable.
    attrs: Vec<(Sym, Attribute)>,
    regions: Vec<RegionId>,
    pub loc: Location,
    parent: Option<BlockId>,
    prev: Option<OpId>,
    next: Option<OpId>,
}

#[derive(Debug, Default)]
pub struct Block {
    args: Vec<ValueId>,
    first: Option<OpId>,
    last: Option<OpId>,
    parent: Option<RegionId>,
}

#[derive(Debug)]
pub struct Region {
    blocks: Vec<BlockId>,
    parent: OpId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    Result(OpId, u32),
    BlockArg(BlockId, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Use {
    pub op: OpId,
    pub index: u32,
}

#[derive(Debug)]
pub struct Value {
    pub ty: Type,
    pub def: ValueDef,
    uses: SmallVec<[Use; 2]>,
}

impl Value {
    pub fn uses(&self) -> &[Use] {
        &self.uses
    }
}

impl Operation {
    pub fn operands(&self) -> &[ValueId] {
        &self.operands
    }
    pub fn results(&self) -> &[ValueId] {
        &self.results
    }
    pub fn regions(&self) -> &[RegionId] {
        &self.regions
    }
    pub fn attrs(&self) -> &[(Sym, Attribute)] {
        &self.attrs
    }
    pub fn attr(&self, key: &str) -> Option<&Attribute> {
        let key = Sym::new(key);
        self.attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
    pub fn parent_block(&self) -> Option<BlockId> {
        self.parent
    }
    pub fn name_str(&self) -> &'static str {
        self.name.as_str()
    }
}

impl Block {
    pub fn args(&self) -> &[ValueId] {
        &self.args
    }
    pub fn parent_region(&self) -> Option<RegionId> {
        self.parent
    }
    pub fn first_op(&self) -> Option<OpId> {
        self.first
    }
    pub fn last_op(&self) -> Option<OpId> {
        self.last
    }
}

impl Region {
    pub fn blocks(&self) -> &[BlockId] {
        &self.blocks
    }
    pub fn parent_op(&self) -> OpId {
        self.parent
    }
}

/// Everything needed to create an op; see [`Module::create_op`].
#[derive(Clone, Debug)]
pub struct OpSpec {
    pub name: Sym,
    pub operands: Vec<ValueId>,
    pub result_types: Vec<Type>,
    pub attrs: Vec<(Sym, Attribute)>,
    pub num_regions: usize,
    pub loc: Location,
}

impl OpSpec {
    pub fn new(name: &str) -> OpSpec {
        OpSpec {
            name: Sym::new(name),
            operands: Vec::new(),
            result_types: Vec::new(),
            attrs: Vec::new(),
            num_regions: 0,
            loc: Location::Unknown,
        }
    }
    pub fn operands(mut self, v: &[ValueId]) -> Self {
        self.operands = v.to_vec();
        self
    }
    pub fn results(mut self, t: &[Type]) -> Self {
        self.result_types = t.to_vec();
        self
    }
    pub fn attr(mut self, k: &str, v: Attribute) -> Self {
        self.attrs.push((Sym::new(k), v));
        self
    }
    pub fn regions(mut self, n: usize) -> Self {
        self.num_regions = n;
        self
    }
    pub fn loc(mut self, loc: Location) -> Self {
        self.loc = loc;
        self
    }
}

pub struct Module {
    ops: Arena<Operation>,
    blocks: Arena<Block>,
    regions: Arena<Region>,
    values: Arena<Value>,
    top: OpId,
    pub resources: BlobStore,
}

impl Module {
    /// A module holding an empty `builtin.module` with one region and block.
    pub fn new(name: Option<&str>) -> Module {
        let mut spec = OpSpec::new(crate::builtin::MODULE).regions(1);
        if let Some(n) = name {
            spec = spec.attr("sym_name", Attribute::Str(n.to_owned()));
        }
        Module::with_top(spec)
    }

    /// A module whose top-level op is created from `spec` (its regions get one block each).
    pub fn with_top(spec: OpSpec) -> Module {
        let mut m = Module {
            ops: Arena::default(),
            blocks: Arena::default(),
            regions: Arena::default(),
            values: Arena::default(),
            top: crate::arena::placeholder(),
            resources: BlobStore::default(),
        };
        m.top = m.create_op(spec);
        for r in m.op(m.top).regions.clone() {
            m.create_block(r);
        }
        m
    }

    pub fn top(&self) -> OpId {
        self.top
    }

    /// The single block of the top-level module op.
    pub fn body(&self) -> BlockId {
        let r = self.op(self.top).regions[0];
        self.region(r).blocks[0]
    }

    pub fn op(&self, id: OpId) -> &Operation {
        &self.ops[id]
    }
    pub fn block(&self, id: BlockId) -> &Block {
        &self.blocks[id]
    }
    pub fn region(&self, id: RegionId) -> &Region {
        &self.regions[id]
    }
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id]
    }
    pub fn value_type(&self, id: ValueId) -> Type {
        self.values[id].ty
    }
    pub fn set_value_type(&mut self, id: ValueId, ty: Type) {
        self.values[id].ty = ty;
    }
    pub fn is_alive(&self, id: OpId) -> bool {
        self.ops.contains(id)
    }
    pub fn is_value_alive(&self, id: ValueId) -> bool {
        self.values.contains(id)
    }
    pub fn num_ops(&self) -> usize {
        self.ops.len()
    }
    pub fn set_loc(&mut self, op: OpId, loc: Location) {
        self.ops[op].loc = loc;
    }

    pub fn operand(&self, op: OpId, i: usize) -> ValueId {
        self.ops[op].operands[i]
    }
    pub fn result(&self, op: OpId, i: usize) -> ValueId {
        self.ops[op].results[i]
    }

    /// The op defining `v`, if it is an op result.
    pub fn defining_op(&self, v: ValueId) -> Option<OpId> {
        match self.values[v].def {
            ValueDef::Result(op, _) => Some(op),
            ValueDef::BlockArg(..) => None,
        }
    }

    pub fn parent_op(&self, op: OpId) -> Option<OpId> {
        let b = self.ops[op].parent?;
        let r = self.blocks[b].parent?;
        Some(self.regions[r].parent)
    }

    /// Pre-sizes the arenas for about `ops` more ops and `values` more values.
    pub fn reserve(&mut self, ops: usize, values: usize) {
        self.ops.reserve(ops);
        self.values.reserve(values);
    }

    /// Creates a detached op with fresh result values and empty regions.
    pub fn create_op(&mut self, spec: OpSpec) -> OpId {
        self.create_op_parts(
            spec.name,
            &spec.operands,
            &spec.result_types,
            spec.attrs,
            spec.num_regions,
            spec.loc,
        )
    }

    /// [`Self::create_op`] from borrowed parts (avoids building an [`OpSpec`] on hot paths).
    pub fn create_op_parts(
        &mut self,
        name: Sym,
        operands: &[ValueId],
        result_types: &[Type],
        mut attrs: Vec<(Sym, Attribute)>,
        num_regions: usize,
        loc: Location,
    ) -> OpId {
        attrs.sort_by_key(|a| a.0);
        attrs.dedup_by(|b, a| a.0 == b.0);
        let id = self.ops.alloc(Operation {
            name,
            operands: SmallVec::from_slice(operands),
            results: SmallVec::with_capacity(result_types.len()),
            attrs,
            regions: Vec::with_capacity(num_regions),
            loc,
            parent: None,
            prev: None,
            next: None,
        });
        for (i, &v) in operands.iter().enumerate() {
            self.values[v].uses.push(Use {
                op: id,
                index: i as u32,
            });
        }
        for (i, &ty) in result_types.iter().enumerate() {
            let v = self.values.alloc(Value {
                ty,
                def: ValueDef::Result(id, i as u32),
                uses: SmallVec::new(),
            });
            self.ops[id].results.push(v);
        }
        for _ in 0..num_regions {
            let r = self.regions.alloc(Region {
                blocks: Vec::new(),
                parent: id,
            });
            self.ops[id].regions.push(r);
        }
        id
    }

    pub fn create_block(&mut self, region: RegionId) -> BlockId {
        let b = self.blocks.alloc(Block {
            parent: Some(region),
            ..Block::default()
        });
        self.regions[region].blocks.push(b);
        b
    }

    /// A block not yet in any region (the parser fills it before the op that owns it exists).
    pub fn new_detached_block(&mut self) -> BlockId {
        self.blocks.alloc(Block::default())
    }

    pub fn attach_block(&mut self, region: RegionId, block: BlockId) {
        self.blocks[block].parent = Some(region);
        self.regions[region].blocks.push(block);
    }

    /// Makes the single op of the top block the new top op (used when a
    /// parsed file holds exactly one `builtin.module`).
    pub fn promote_single_child(&mut self) -> bool {
        let ops = self.block_ops(self.body());
        if ops.len() != 1 {
            return false;
        }
        let old = self.top;
        self.detach(ops[0]);
        self.top = ops[0];
        self.erase_op(old);
        true
    }

    /// Wraps the current top op into a fresh, unnamed `builtin.module`.
    pub fn wrap_top_in_module(&mut self) {
        let new_top = self.create_op(OpSpec::new(crate::builtin::MODULE).regions(1));
        let r = self.ops[new_top].regions[0];
        let b = self.create_block(r);
        let old = self.top;
        self.append_op(b, old);
        self.top = new_top;
    }

    pub fn add_block_arg(&mut self, block: BlockId, ty: Type) -> ValueId {
        let idx = self.blocks[block].args.len() as u32;
        let v = self.values.alloc(Value {
            ty,
            def: ValueDef::BlockArg(block, idx),
            uses: SmallVec::new(),
        });
        self.blocks[block].args.push(v);
        v
    }

    /// Removes the last argument of a block; it must have no uses.
    pub fn pop_block_arg(&mut self, block: BlockId) {
        if let Some(v) = self.blocks[block].args.pop() {
            debug_assert!(self.values[v].uses.is_empty());
            self.values.remove(v);
        }
    }

    pub fn append_op(&mut self, block: BlockId, op: OpId) {
        debug_assert!(self.ops[op].parent.is_none(), "op is already in a block");
        let last = self.blocks[block].last;
        {
            let o = &mut self.ops[op];
            o.parent = Some(block);
            o.prev = last;
            o.next = None;
        }
        match last {
            Some(l) => self.ops[l].next = Some(op),
            None => self.blocks[block].first = Some(op),
        }
        self.blocks[block].last = Some(op);
    }

    pub fn insert_before(&mut self, anchor: OpId, op: OpId) {
        let block = self.ops[anchor]
            .parent
            .expect("anchor op is not in a block");
        let prev = self.ops[anchor].prev;
        {
            let o = &mut self.ops[op];
            o.parent = Some(block);
            o.prev = prev;
            o.next = Some(anchor);
        }
        self.ops[anchor].prev = Some(op);
        match prev {
            Some(p) => self.ops[p].next = Some(op),
            None => self.blocks[block].first = Some(op),
        }
    }

    /// Unlinks an op from its block, keeping it and its uses alive.
    pub fn detach(&mut self, op: OpId) {
        let Some(block) = self.ops[op].parent else {
            return;
        };
        let (prev, next) = (self.ops[op].prev, self.ops[op].next);
        match prev {
            Some(p) => self.ops[p].next = next,
            None => self.blocks[block].first = next,
        }
        match next {
            Some(n) => self.ops[n].prev = prev,
            None => self.blocks[block].last = prev,
        }
        let o = &mut self.ops[op];
        o.parent = None;
        o.prev = None;
        o.next = None;
    }

    /// Ops of a block in order (a snapshot, so the block may be mutated while iterating).
    pub fn block_ops(&self, block: BlockId) -> Vec<OpId> {
        let mut out = Vec::new();
        let mut cur = self.blocks[block].first;
        while let Some(op) = cur {
            out.push(op);
            cur = self.ops[op].next;
        }
        out
    }

    pub fn next_op(&self, op: OpId) -> Option<OpId> {
        self.ops[op].next
    }

    /// Every op nested in `root` (including `root`), parents before children.
    pub fn walk(&self, root: OpId) -> Vec<OpId> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(op) = stack.pop() {
            out.push(op);
            let mut children = Vec::new();
            for &r in &self.ops[op].regions {
                for &b in &self.regions[r].blocks {
                    children.extend(self.block_ops(b));
                }
            }
            stack.extend(children.into_iter().rev());
        }
        out
    }

    /// Direct children ops of `op` (the ops of the blocks of its regions).
    pub fn child_ops(&self, op: OpId) -> Vec<OpId> {
        let mut out = Vec::new();
        for &r in &self.ops[op].regions {
            for &b in &self.regions[r].blocks {
                out.extend(self.block_ops(b));
            }
        }
        out
    }

    pub fn set_operand(&mut self, op: OpId, index: usize, v: ValueId) {
        let old = self.ops[op].operands[index];
        let u = Use {
            op,
            index: index as u32,
        };
        if let Some(pos) = self.values[old].uses.iter().position(|x| *x == u) {
            self.values[old].uses.swap_remove(pos);
        }
        self.ops[op].operands[index] = v;
        self.values[v].uses.push(u);
    }

    /// Replaces the whole operand list of an op.
    pub fn set_operands(&mut self, op: OpId, operands: &[ValueId]) {
        self.drop_operand_uses(op);
        self.ops[op].operands = SmallVec::from_slice(operands);
        for (i, &v) in operands.iter().enumerate() {
            self.values[v].uses.push(Use {
                op,
                index: i as u32,
            });
        }
    }

    fn drop_operand_uses(&mut self, op: OpId) {
        let operands = std::mem::take(&mut self.ops[op].operands);
        for (i, &v) in operands.iter().enumerate() {
            let u = Use {
                op,
                index: i as u32,
            };
            if let Some(val) = self.values.get_mut(v) {
                if let Some(pos) = val.uses.iter().position(|x| *x == u) {
                    val.uses.swap_remove(pos);
                }
            }
        }
    }

    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        if old == new {
            return;
        }
        let uses = std::mem::take(&mut self.values[old].uses);
        for u in &uses {
            self.ops[u.op].operands[u.index as usize] = new;
        }
        self.values[new].uses.extend(uses);
    }

    /// Replaces every result of `op` with `new` (one per result) and erases `op`.
    pub fn replace_op(&mut self, op: OpId, new: &[ValueId]) {
        let results = self.ops[op].results.clone();
        assert_eq!(
            results.len(),
            new.len(),
            "replace_op: result count mismatch"
        );
        for (r, n) in results.into_iter().zip(new) {
            self.replace_all_uses(r, *n);
        }
        self.erase_op(op);
    }

    /// Erases an op, its regions and its results. Results must be unused.
    pub fn erase_op(&mut self, op: OpId) {
        self.detach(op);
        for child in self.child_ops(op) {
            self.erase_op(child);
        }
        let regions = std::mem::take(&mut self.ops[op].regions);
        for r in regions {
            if let Some(region) = self.regions.remove(r) {
                for b in region.blocks {
                    if let Some(block) = self.blocks.remove(b) {
                        for a in block.args {
                            self.values.remove(a);
                        }
                    }
                }
            }
        }
        self.drop_operand_uses(op);
        let results = std::mem::take(&mut self.ops[op].results);
        for r in results {
            debug_assert!(
                self.values[r].uses.is_empty(),
                "erasing an op whose results are still used"
            );
            self.values.remove(r);
        }
        self.ops.remove(op);
    }

    pub fn set_attr(&mut self, op: OpId, key: &str, value: Attribute) {
        let key = Sym::new(key);
        let attrs = &mut self.ops[op].attrs;
        match attrs.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => attrs[i].1 = value,
            Err(i) => attrs.insert(i, (key, value)),
        }
    }

    pub fn remove_attr(&mut self, op: OpId, key: &str) -> Option<Attribute> {
        let key = Sym::new(key);
        let attrs = &mut self.ops[op].attrs;
        let i = attrs.iter().position(|(k, _)| *k == key)?;
        Some(attrs.remove(i).1)
    }

    pub fn attr(&self, op: OpId, key: &str) -> Option<&Attribute> {
        self.ops[op].attr(key)
    }

    /// Symbol name of an op (`sym_name`), e.g. the graph's `@main`.
    pub fn symbol_name(&self, op: OpId) -> Option<&str> {
        self.attr(op, "sym_name").and_then(Attribute::as_str)
    }
}

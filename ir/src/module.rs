//! The IR store: ops, blocks, regions and values in generational arenas.
//!
//! A [`Module`] owns one top-level `builtin.module` op and everything nested in
//! it, plus the blob store of its weights. Ops are generic data (name,
//! operands, results, sorted attributes, regions, location); dialects add
//! typed views on top (see [`crate::define_op`]). Blocks keep their ops in an
//! intrusive doubly linked list so inserting or erasing is O(1), and values
//! keep use-lists so replacing all uses is proportional to the uses.
//!
//! Ops are kept small (a big model has hundreds of thousands): operands and
//! results share one inline vector, block neighbours are bare slot indices,
//! and attributes are shared entries (see [`crate::attr_dict`]).

use crate::arena::{Arena, Idx};
use crate::attr_dict::{AttrDict, Attrs};
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

#[derive(Clone, Debug)]
pub struct Operation {
    pub name: Sym,
    num_operands: u32,
    parent: Option<BlockId>,
    /// Neighbours in the parent block as op slot indices ([`NO_OP`] at the ends).
    prev: u32,
    next: u32,
    /// The operands followed by the results.
    values: SmallVec<[ValueId; 3]>,
    /// Sorted by key: printing and hashing are stable.
    attrs: AttrDict,
    /// Boxed so the many ops without regions pay one pointer.
    regions: Option<Box<SmallVec<[RegionId; 1]>>>,
    pub loc: Location,
}

/// The `prev`/`next` link of an op at either end of its block.
const NO_OP: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub struct Block {
    args: Vec<ValueId>,
    first: Option<OpId>,
    last: Option<OpId>,
    parent: Option<RegionId>,
}

#[derive(Clone, Debug)]
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

#[derive(Clone, Debug)]
pub struct Value {
    pub ty: Type,
    pub def: ValueDef,
    uses: SmallVec<[Use; 1]>,
}

impl Value {
    pub fn uses(&self) -> &[Use] {
        &self.uses
    }

    /// Appends a use. Most values have one to three uses: the first one is
    /// inline, the first spill makes room for three, longer lists double.
    fn add_use(&mut self, u: Use) {
        if self.uses.len() == 1 && !self.uses.spilled() {
            self.uses.reserve_exact(2);
        }
        self.uses.push(u);
    }
}

impl Operation {
    pub fn operands(&self) -> &[ValueId] {
        &self.values[..self.num_operands as usize]
    }
    pub fn results(&self) -> &[ValueId] {
        &self.values[self.num_operands as usize..]
    }
    fn operands_mut(&mut self) -> &mut [ValueId] {
        &mut self.values[..self.num_operands as usize]
    }
    pub fn regions(&self) -> &[RegionId] {
        self.regions.as_deref().map_or(&[], |r| r.as_slice())
    }
    pub fn attrs(&self) -> Attrs<'_> {
        self.attrs.view()
    }
    pub fn attr(&self, key: &str) -> Option<&Attribute> {
        self.attrs.get(Sym::new(key))
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

/// `clone` copies the op structure and shares every weight blob (blobs are
/// reference counted); handles of the original address the same nodes in the copy.
#[derive(Clone)]
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
            spec = spec.attr("sym_name", Attribute::Str(n.into()));
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
        for r in m.op(m.top).regions().to_vec() {
            m.create_block(r);
        }
        m
    }

    pub fn top(&self) -> OpId {
        self.top
    }

    /// The single block of the top-level module op.
    pub fn body(&self) -> BlockId {
        let r = self.op(self.top).regions()[0];
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
        self.ops[op].operands()[i]
    }
    pub fn result(&self, op: OpId, i: usize) -> ValueId {
        self.ops[op].results()[i]
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
        attrs: Vec<(Sym, Attribute)>,
        num_regions: usize,
        loc: Location,
    ) -> OpId {
        let attrs = AttrDict::from_vec(attrs);
        self.create_op_with_dict(name, operands, result_types, attrs, num_regions, loc)
    }

    /// [`Self::create_op_parts`] with an already built (possibly shared) dictionary.
    pub fn create_op_with_dict(
        &mut self,
        name: Sym,
        operands: &[ValueId],
        result_types: &[Type],
        attrs: AttrDict,
        num_regions: usize,
        loc: Location,
    ) -> OpId {
        let mut values = SmallVec::with_capacity(operands.len() + result_types.len());
        values.extend_from_slice(operands);
        let id = self.ops.alloc(Operation {
            name,
            num_operands: u32::try_from(operands.len()).expect("at most u32::MAX operands"),
            parent: None,
            prev: NO_OP,
            next: NO_OP,
            values,
            attrs,
            regions: None,
            loc,
        });
        for (i, &v) in operands.iter().enumerate() {
            self.values[v].add_use(Use {
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
            self.ops[id].values.push(v);
        }
        if num_regions > 0 {
            let regions: SmallVec<[RegionId; 1]> = (0..num_regions)
                .map(|_| {
                    self.regions.alloc(Region {
                        blocks: Vec::new(),
                        parent: id,
                    })
                })
                .collect();
            self.ops[id].regions = Some(Box::new(regions));
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
        let r = self.ops[new_top].regions()[0];
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

    /// The handle of the live value in arena slot `index` (see [`Idx::index`]).
    pub(crate) fn value_at(&self, index: u32) -> ValueId {
        self.values.id_at(index)
    }

    fn link(&self, index: u32) -> Option<OpId> {
        (index != NO_OP).then(|| self.ops.id_at(index))
    }

    fn index_of(op: Option<OpId>) -> u32 {
        op.map_or(NO_OP, |o| o.index() as u32)
    }

    pub fn append_op(&mut self, block: BlockId, op: OpId) {
        debug_assert!(self.ops[op].parent.is_none(), "op is already in a block");
        let last = self.blocks[block].last;
        {
            let o = &mut self.ops[op];
            o.parent = Some(block);
            o.prev = Self::index_of(last);
            o.next = NO_OP;
        }
        match last {
            Some(l) => self.ops[l].next = op.index() as u32,
            None => self.blocks[block].first = Some(op),
        }
        self.blocks[block].last = Some(op);
    }

    pub fn insert_before(&mut self, anchor: OpId, op: OpId) {
        let block = self.ops[anchor]
            .parent
            .expect("anchor op is not in a block");
        let prev = self.link(self.ops[anchor].prev);
        {
            let o = &mut self.ops[op];
            o.parent = Some(block);
            o.prev = Self::index_of(prev);
            o.next = anchor.index() as u32;
        }
        self.ops[anchor].prev = op.index() as u32;
        match prev {
            Some(p) => self.ops[p].next = op.index() as u32,
            None => self.blocks[block].first = Some(op),
        }
    }

    /// Unlinks an op from its block, keeping it and its uses alive.
    pub fn detach(&mut self, op: OpId) {
        let Some(block) = self.ops[op].parent else {
            return;
        };
        let (prev, next) = (self.link(self.ops[op].prev), self.link(self.ops[op].next));
        match prev {
            Some(p) => self.ops[p].next = Self::index_of(next),
            None => self.blocks[block].first = next,
        }
        match next {
            Some(n) => self.ops[n].prev = Self::index_of(prev),
            None => self.blocks[block].last = prev,
        }
        let o = &mut self.ops[op];
        o.parent = None;
        o.prev = NO_OP;
        o.next = NO_OP;
    }

    /// Ops of a block in order (a snapshot, so the block may be mutated while iterating).
    pub fn block_ops(&self, block: BlockId) -> Vec<OpId> {
        let mut out = Vec::new();
        self.push_block_ops(block, &mut out);
        out
    }

    fn push_block_ops(&self, block: BlockId, out: &mut Vec<OpId>) {
        let mut cur = self.blocks[block].first;
        while let Some(op) = cur {
            out.push(op);
            cur = self.next_op(op);
        }
    }

    pub fn next_op(&self, op: OpId) -> Option<OpId> {
        self.link(self.ops[op].next)
    }

    /// Every op nested in `root` (including `root`), parents before children.
    pub fn walk(&self, root: OpId) -> Vec<OpId> {
        let mut out = Vec::with_capacity(self.ops.len());
        let mut stack = vec![root];
        let mut children = Vec::new();
        while let Some(op) = stack.pop() {
            out.push(op);
            children.clear();
            for &r in self.ops[op].regions() {
                for &b in &self.regions[r].blocks {
                    self.push_block_ops(b, &mut children);
                }
            }
            stack.extend(children.iter().rev());
        }
        out
    }

    /// Direct children ops of `op` (the ops of the blocks of its regions).
    pub fn child_ops(&self, op: OpId) -> Vec<OpId> {
        let mut out = Vec::new();
        for &r in self.ops[op].regions() {
            for &b in &self.regions[r].blocks {
                self.push_block_ops(b, &mut out);
            }
        }
        out
    }

    pub fn set_operand(&mut self, op: OpId, index: usize, v: ValueId) {
        let old = self.ops[op].operands()[index];
        let u = Use {
            op,
            index: index as u32,
        };
        if let Some(pos) = self.values[old].uses.iter().position(|x| *x == u) {
            self.values[old].uses.swap_remove(pos);
        }
        self.ops[op].operands_mut()[index] = v;
        self.values[v].add_use(u);
    }

    /// Replaces the whole operand list of an op.
    pub fn set_operands(&mut self, op: OpId, operands: &[ValueId]) {
        self.drop_operand_uses(op);
        let o = &mut self.ops[op];
        let mut values = SmallVec::with_capacity(operands.len() + o.results().len());
        values.extend_from_slice(operands);
        values.extend_from_slice(o.results());
        o.values = values;
        o.num_operands = u32::try_from(operands.len()).expect("at most u32::MAX operands");
        for (i, &v) in operands.iter().enumerate() {
            self.values[v].add_use(Use {
                op,
                index: i as u32,
            });
        }
    }

    /// Removes the op from its operands' use-lists (the operands stay listed).
    fn drop_operand_uses(&mut self, op: OpId) {
        let o = &self.ops[op];
        for (i, &v) in o.operands().iter().enumerate() {
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
            self.ops[u.op].operands_mut()[u.index as usize] = new;
        }
        let target = &mut self.values[new];
        if target.uses.is_empty() {
            target.uses = uses;
        } else {
            target.uses.extend(uses);
        }
    }

    /// Replaces every result of `op` with `new` (one per result) and erases `op`.
    pub fn replace_op(&mut self, op: OpId, new: &[ValueId]) {
        let results: SmallVec<[ValueId; 2]> = SmallVec::from_slice(self.ops[op].results());
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
        let regions = self.ops[op].regions.take().unwrap_or_default();
        for &r in regions.iter() {
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
        let Some(o) = self.ops.remove(op) else {
            return;
        };
        for &r in o.results() {
            debug_assert!(
                self.values[r].uses.is_empty(),
                "erasing an op whose results are still used"
            );
            self.values.remove(r);
        }
    }

    pub fn set_attr(&mut self, op: OpId, key: &str, value: Attribute) {
        self.ops[op].attrs.set(Sym::new(key), value);
    }

    pub fn remove_attr(&mut self, op: OpId, key: &str) -> Option<Attribute> {
        self.ops[op].attrs.remove(Sym::new(key))
    }

    pub fn attr(&self, op: OpId, key: &str) -> Option<&Attribute> {
        self.ops[op].attr(key)
    }

    /// Symbol name of an op (`sym_name`), e.g. the graph's `@main`.
    pub fn symbol_name(&self, op: OpId) -> Option<&str> {
        self.attr(op, "sym_name").and_then(Attribute::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(m: &mut Module, operands: &[ValueId], results: usize) -> OpId {
        let t = Type::f32();
        let o = m.create_op(
            OpSpec::new("t.op")
                .operands(operands)
                .results(&vec![t; results]),
        );
        let body = m.body();
        m.append_op(body, o);
        o
    }

    #[test]
    fn ops_stay_small() {
        // A big model holds hundreds of thousands of ops and values.
        assert!(std::mem::size_of::<Option<Operation>>() <= 112);
        assert!(std::mem::size_of::<Option<Value>>() <= 48);
    }

    #[test]
    fn operands_and_results_share_storage_without_mixing() {
        let mut m = Module::new(None);
        let a = op(&mut m, &[], 2);
        let (a0, a1) = (m.result(a, 0), m.result(a, 1));
        let b = op(&mut m, &[a0, a1, a0], 1);
        assert_eq!(m.op(b).operands(), &[a0, a1, a0]);
        assert_eq!(m.op(b).results().len(), 1);
        let r = m.result(b, 0);
        m.set_operands(b, &[a1]);
        assert_eq!(m.op(b).operands(), &[a1]);
        assert_eq!(m.op(b).results(), &[r]);
        assert!(m.value(a0).uses().is_empty());
        assert_eq!(m.value(a1).uses(), &[Use { op: b, index: 0 }]);
        m.set_operand(b, 0, a0);
        assert_eq!(m.value(a0).uses(), &[Use { op: b, index: 0 }]);
        assert!(m.value(a1).uses().is_empty());
    }

    #[test]
    fn use_lists_grow_past_their_inline_slot() {
        let mut m = Module::new(None);
        let a = op(&mut m, &[], 1);
        let v = m.result(a, 0);
        let users: Vec<OpId> = (0..6).map(|_| op(&mut m, &[v, v], 0)).collect();
        assert_eq!(m.value(v).uses().len(), 12);
        let b = op(&mut m, &[], 1);
        let w = m.result(b, 0);
        m.replace_all_uses(v, w);
        assert!(m.value(v).uses().is_empty());
        assert_eq!(m.value(w).uses().len(), 12);
        assert!(users.iter().all(|&u| m.op(u).operands() == [w, w]));
    }

    #[test]
    fn block_links_survive_erasure_and_slot_reuse() {
        let mut m = Module::new(None);
        let ops: Vec<OpId> = (0..4).map(|_| op(&mut m, &[], 0)).collect();
        m.erase_op(ops[1]);
        let body = m.body();
        assert_eq!(m.block_ops(body), [ops[0], ops[2], ops[3]]);
        let fresh = m.create_op(OpSpec::new("t.new"));
        assert_eq!(fresh.index(), ops[1].index(), "the freed slot is reused");
        assert!(!m.is_alive(ops[1]));
        m.insert_before(ops[0], fresh);
        assert_eq!(m.block_ops(body), [fresh, ops[0], ops[2], ops[3]]);
        m.detach(ops[3]);
        assert_eq!(m.next_op(ops[2]), None);
        assert_eq!(m.block(body).last_op(), Some(ops[2]));
        assert_eq!(m.op(fresh).parent_block(), Some(body));
    }
}

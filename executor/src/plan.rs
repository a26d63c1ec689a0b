//! The execution plan: a graph prepared once (every op's evaluation prepared through the
//! evaluation interface, weights decoded, last uses known) and then run any number of times
//! on batches. The same plan runs float `hl` graphs and integer `q` graphs: values live in
//! numbered slots, a value is freed (its buffer pooled) after its last reader, and large
//! batches run in sub-batches.

use crate::attrs::OpReader;
use crate::consts::static_shape;
use crate::error::{ExecError, Result};
use crate::evaluate::{evaluators, Domain, Kernel, Prepared, Signature};
use crate::resume::Memo;
use crate::value::{Arg, BufferPool, Value};
use crate::Context;
use hailo_dialect_hl as hl;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::QuantType;
use hailo_ir::builtin::{GRAPH, RETURN};
use hailo_ir::{Attribute, Module, OpId, Type, ValueId};
use ndarray::ArrayD;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

/// Which graph of a module to prepare.
#[derive(Debug, Clone, Copy)]
pub enum GraphRef<'a> {
    /// The module's first graph.
    First,
    Id(OpId),
    /// The graph's symbol name (`builtin.graph @main` → `"main"`).
    Name(&'a str),
}

impl From<OpId> for GraphRef<'_> {
    fn from(id: OpId) -> Self {
        GraphRef::Id(id)
    }
}

impl<'a> From<&'a str> for GraphRef<'a> {
    fn from(name: &'a str) -> Self {
        GraphRef::Name(name)
    }
}

/// A graph input or output as users name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Hailo layer name (`input_layer1`, `output_layer1`), or `input<i>`/`output<i>` when the
    /// graph has no input/output layer there.
    pub name: String,
    /// The framework's tensor name (`original_name` attribute), when known.
    pub original_name: Option<String>,
    /// Declared shape (NHWC); dimension 0 is the graph's batch and may differ at run time.
    pub shape: Vec<usize>,
}

/// Where an op reads an operand from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operand {
    Slot(usize),
    Const(usize),
}

#[derive(Debug)]
struct Step {
    kernel: Box<dyn Kernel>,
    /// The op, its operands and its results in the IR (what a [`Recording`] is keyed by).
    id: OpId,
    operands: Vec<ValueId>,
    values: Vec<ValueId>,
    op: &'static str,
    layer: String,
    args: Vec<Operand>,
    results: Vec<usize>,
    /// Declared result shapes, checked after evaluation (batch excluded).
    shapes: Vec<Vec<usize>>,
    /// Slots whose last reader is this step.
    last_uses: Vec<usize>,
    /// How each result is shown to an observer; `None`: not shown.
    observed: Vec<Option<Observed>>,
}

/// A result as observers see it: under its layer's name, as f32.
#[derive(Debug)]
struct Observed {
    name: String,
    /// Scale and zero point of integer codes.
    dequantize: Option<(f32, i64)>,
}

/// A prepared graph. Construction does all decoding; [`Executor::run`] only computes.
/// The executor owns its weights, so the module may be dropped after construction.
#[derive(Debug)]
pub struct Executor {
    context: Context,
    steps: Vec<Step>,
    consts: Vec<Value>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    /// Where each output comes from (a graph input, an op result or a constant).
    output_sources: Vec<Operand>,
    slots: usize,
}

/// What [`Executor::run_chunks`] runs on each sub-batch (with its index): its outputs and
/// whatever else the caller collects.
pub(crate) type SubBatchRun<'a, T> =
    dyn Fn(usize, &[ArrayD<f32>]) -> Result<(Vec<ArrayD<f32>>, T)> + Sync + 'a;

/// What [`Executor::run_observed`] calls with every layer output.
pub type Observer<'a> = dyn FnMut(LayerOutput) -> Result<()> + 'a;

/// Everything an observer is told about one computed layer output.
///
/// Every op result with a layer name is shown once, by the last op carrying that name (a
/// `q` layer is several ops: its concat-input requantizations are not shown separately),
/// dequantized to f32 when it holds codes; multi-result ops add `_<result index>`. Float ops
/// without a layer name are shown as `<unnamed op>`; integer glue without one is not.
#[derive(Debug, Clone, Copy)]
pub struct LayerOutput<'a> {
    /// The layer name (`layer` attribute); multi-result ops add `_<result index>`.
    pub layer: &'a str,
    pub op: &'static str,
    /// Result index within the op.
    pub result: usize,
    pub value: &'a ArrayD<f32>,
}

fn find_graph(m: &Module, graph: GraphRef) -> Result<OpId> {
    let graphs: Vec<OpId> = m
        .walk(m.top())
        .into_iter()
        .filter(|&o| m.op(o).name_str() == GRAPH)
        .collect();
    let name_of = |o: OpId| m.symbol_name(o).unwrap_or("").to_owned();
    match graph {
        GraphRef::First => graphs
            .first()
            .copied()
            .ok_or_else(|| ExecError::Graph("the module has no builtin.graph".into())),
        GraphRef::Id(id) if graphs.contains(&id) => Ok(id),
        GraphRef::Id(id) => Err(ExecError::Graph(format!(
            "op {id:?} is not a builtin.graph of this module"
        ))),
        GraphRef::Name(n) => graphs
            .iter()
            .copied()
            .find(|&o| name_of(o) == n)
            .ok_or_else(|| {
                let names: Vec<String> =
                    graphs.iter().map(|&o| format!("@{}", name_of(o))).collect();
                ExecError::Graph(format!(
                    "no graph named @{n} (the module has: {})",
                    names.join(", ")
                ))
            }),
    }
}

fn str_attr(m: &Module, op: OpId, key: &str) -> Option<String> {
    m.op(op)
        .attr(key)
        .and_then(Attribute::as_str)
        .map(str::to_owned)
}

/// Checks a float op's operand and result element types.
fn check_domain(r: &OpReader, domain: Domain, sig: &Signature) -> Result<()> {
    let check = |ty: &Type, what: &str, index_ok: bool| {
        let elem = ty.element();
        if elem.is_float() || (index_ok && elem.is_integer()) {
            Ok(())
        } else {
            Err(r.err(format!(
                "{what} has element type {elem}; float evaluation needs f32/f16/bf16"
            )))
        }
    };
    if domain == Domain::Integer {
        return Ok(());
    }
    for ty in sig.inputs {
        check(ty, "an operand", false)?;
    }
    for ty in sig.results {
        check(ty, "a result", domain == Domain::FloatToIndex)?;
    }
    Ok(())
}

/// Which ops' results observers see (see [`LayerOutput`]), and how.
fn observed(
    m: &Module,
    op: OpId,
    domain: Domain,
    last_of_layer: &FxHashMap<&str, OpId>,
) -> Vec<Option<Observed>> {
    let r = OpReader::new(m, op);
    let results = m.op(op).results();
    let shown = match m.attr(op, "layer").and_then(Attribute::as_str) {
        Some(l) => last_of_layer.get(l) == Some(&op),
        None => domain != Domain::Integer,
    };
    results
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if !shown {
                return None;
            }
            let name = if results.len() > 1 {
                format!("{}_{i}", r.layer)
            } else {
                r.layer.clone()
            };
            let dequantize = match domain {
                Domain::Integer => {
                    QuantType::of(m.value_type(v)).map(|t| (t.scale_at(0) as f32, t.zero_point()))
                }
                _ => None,
            };
            Some(Observed { name, dequantize })
        })
        .collect()
}

/// The body block of `graph`.
fn body(m: &Module, graph: OpId) -> Result<hailo_ir::BlockId> {
    m.op(graph)
        .regions()
        .first()
        .and_then(|&r| m.region(r).blocks().first().copied())
        .ok_or_else(|| ExecError::Graph("graph has no body block".into()))
}

/// The graph inputs of `block` as users name them.
fn inputs_of(m: &Module, block: hailo_ir::BlockId) -> Result<Vec<TensorInfo>> {
    let mut inputs = Vec::new();
    for (i, &arg) in m.block(block).args().iter().enumerate() {
        let shape =
            arg_shape(m, arg).map_err(|e| ExecError::Graph(format!("argument {i}: {e}")))?;
        let user =
            m.value(arg).uses().iter().map(|u| u.op).find(|&o| {
                hl::InputLayer::cast(m, o).is_some() || q::Quantize::cast(m, o).is_some()
            });
        let name = user
            .and_then(|o| str_attr(m, o, "layer"))
            .unwrap_or_else(|| format!("input{i}"));
        let original_name = user.and_then(|o| str_attr(m, o, "original_name"));
        inputs.push(TensorInfo {
            name,
            original_name,
            shape,
        });
    }
    Ok(inputs)
}

/// The inputs of `graph` of `m` (what a dataset must provide), without preparing it.
pub fn graph_inputs<'a>(m: &Module, graph: impl Into<GraphRef<'a>>) -> Result<Vec<TensorInfo>> {
    let graph = find_graph(m, graph.into())?;
    inputs_of(m, body(m, graph)?)
}

/// Prepares op `op` of `m`, given the decoded constants among its operands: a kernel, or the
/// constant it is; with the op's domain.
fn prepare_op(m: &Module, op: OpId, constants: &[Option<&Value>]) -> Result<(Prepared, Domain)> {
    let r = OpReader::new(m, op);
    let evaluation = evaluators().get(m, op).ok_or_else(|| {
        r.err(format!(
            "op '{}' is not supported by the executor (supported: {})",
            r.op,
            evaluators().op_names().join(", ")
        ))
    })?;
    let operands = m.op(op).operands();
    let in_types: Vec<Type> = operands.iter().map(|&v| m.value_type(v)).collect();
    let out_types: Vec<Type> = m
        .op(op)
        .results()
        .iter()
        .map(|&v| m.value_type(v))
        .collect();
    let sig = Signature {
        inputs: &in_types,
        results: &out_types,
        constants,
    };
    let domain = evaluation.domain();
    check_domain(&r, domain, &sig)?;
    Ok((evaluation.prepare(&r, &sig)?, domain))
}

/// Upper bound on the largest activation of one sub-batch in [`Executor::run`] (about the
/// size of the L2 cache of the machines this runs on).
pub const SUB_BATCH_BYTES: usize = 1 << 20;

impl Executor {
    /// Prepares `graph` of `m` for the native (float) context.
    pub fn new<'a>(m: &Module, graph: impl Into<GraphRef<'a>>) -> Result<Self> {
        Self::with_context(m, graph, Context::Native)
    }

    /// Prepares `graph` of `m` for `context`.
    pub fn with_context<'a>(
        m: &Module,
        graph: impl Into<GraphRef<'a>>,
        context: Context,
    ) -> Result<Self> {
        let graph = find_graph(m, graph.into())?;
        let block = body(m, graph)?;
        let inputs = inputs_of(m, block)?;
        let mut slot_of: FxHashMap<ValueId, Operand> = FxHashMap::default();
        for (i, &arg) in m.block(block).args().iter().enumerate() {
            slot_of.insert(arg, Operand::Slot(i));
        }
        let mut slots = inputs.len();
        let mut last_of_layer: FxHashMap<&str, OpId> = FxHashMap::default();
        for op in m.block_ops(block) {
            if let Some(l) = m.attr(op, "layer").and_then(Attribute::as_str) {
                last_of_layer.insert(l, op);
            }
        }
        let mut steps = Vec::new();
        let mut consts = Vec::new();
        let mut returned = None;
        for op in m.block_ops(block) {
            let r = OpReader::new(m, op);
            if r.op == RETURN {
                returned = Some(m.op(op).operands().to_vec());
                continue;
            }
            let operands = m.op(op).operands();
            let constants: Vec<Option<&Value>> = operands
                .iter()
                .map(|v| match slot_of.get(v) {
                    Some(&Operand::Const(i)) => consts.get(i),
                    _ => None,
                })
                .collect();
            let (kernel, domain) = match prepare_op(m, op, &constants)? {
                (Prepared::Constant(value), _) => {
                    slot_of.insert(m.result(op, 0), Operand::Const(consts.len()));
                    consts.push(value);
                    continue;
                }
                (Prepared::Kernel(kernel), domain) => (kernel, domain),
            };
            let out_types: Vec<Type> = m
                .op(op)
                .results()
                .iter()
                .map(|&v| m.value_type(v))
                .collect();
            let args = operands
                .iter()
                .map(|v| {
                    slot_of
                        .get(v)
                        .copied()
                        .ok_or_else(|| r.err("uses a value defined later or outside the graph"))
                })
                .collect::<Result<Vec<_>>>()?;
            let mut results = Vec::new();
            for &v in m.op(op).results() {
                slot_of.insert(v, Operand::Slot(slots));
                results.push(slots);
                slots += 1;
            }
            let shapes = out_types
                .iter()
                .map(|&t| static_shape(&r, t))
                .collect::<Result<_>>()?;
            steps.push(Step {
                kernel,
                id: op,
                operands: operands.to_vec(),
                values: m.op(op).results().to_vec(),
                op: r.op,
                observed: observed(m, op, domain, &last_of_layer),
                layer: r.layer,
                args,
                results,
                shapes,
                last_uses: Vec::new(),
            });
        }
        let returned = returned
            .ok_or_else(|| ExecError::Graph("graph does not end with builtin.return".into()))?;
        let mut outputs = Vec::new();
        let mut output_sources = Vec::new();
        for (i, v) in returned.iter().enumerate() {
            let src = slot_of.get(v).copied().ok_or_else(|| {
                ExecError::Graph(format!("result {i} is not defined in the graph"))
            })?;
            let def = m.defining_op(*v);
            let name = def
                .and_then(|o| str_attr(m, o, "layer"))
                .unwrap_or_else(|| format!("output{i}"));
            let original_name = def.and_then(|o| str_attr(m, o, "original_name"));
            let shape =
                arg_shape(m, *v).map_err(|e| ExecError::Graph(format!("result {i}: {e}")))?;
            outputs.push(TensorInfo {
                name,
                original_name,
                shape,
            });
            output_sources.push(src);
        }
        assign_last_uses(&mut steps, &output_sources);
        Ok(Executor {
            context,
            steps,
            consts,
            inputs,
            outputs,
            output_sources,
            slots,
        })
    }

    /// Decodes the constants `op` reads from `m` again and prepares its kernel again: after a
    /// pass changed those constants (bias correction re-quantizes one layer's bias), the plan
    /// is the one [`Executor::with_context`] would build from `m`, without decoding every
    /// other weight of the graph. `m` must be the module the plan was built from, changed in
    /// constant values only.
    pub fn reprepare(&mut self, m: &Module, op: OpId) -> Result<()> {
        let Some(i) = self.steps.iter().position(|s| s.id == op) else {
            return Err(ExecError::Graph(format!(
                "op {op:?} is not a step of this plan (constants are prepared with their readers)"
            )));
        };
        let step = &self.steps[i];
        for (v, a) in step.operands.iter().zip(&step.args) {
            let (Operand::Const(c), Some(def)) = (*a, m.defining_op(*v)) else {
                continue;
            };
            let none = vec![None; m.op(def).operands().len()];
            match prepare_op(m, def, &none)?.0 {
                Prepared::Constant(value) => self.consts[c] = value,
                Prepared::Kernel(_) => {
                    return Err(ExecError::Graph(format!(
                        "operand of {op:?} was a constant and no longer is"
                    )))
                }
            }
        }
        let step = &self.steps[i];
        let constants: Vec<Option<&Value>> = step
            .args
            .iter()
            .map(|a| match *a {
                Operand::Const(c) => Some(&self.consts[c]),
                Operand::Slot(_) => None,
            })
            .collect();
        let kernel = match prepare_op(m, op, &constants)?.0 {
            Prepared::Kernel(kernel) => kernel,
            Prepared::Constant(_) => {
                return Err(ExecError::Graph(format!("{op:?} became a constant")))
            }
        };
        self.steps[i].kernel = kernel;
        Ok(())
    }

    pub fn context(&self) -> Context {
        self.context
    }

    /// The graph inputs, in argument order.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// Whether the graph has no axis to stack samples on: an input is a scalar (rank 0) or
    /// declares axis 0 empty. Such a graph runs its tensors whole, as declared, and a data set
    /// for it is one run of them.
    pub fn takes_whole_tensors(&self) -> bool {
        self.inputs
            .iter()
            .any(|i| i.shape.first().is_none_or(|&d| d == 0))
    }

    /// The graph outputs, in result order.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Bytes held by the decoded weights and constants.
    pub fn weight_bytes(&self) -> usize {
        self.consts
            .iter()
            .map(|c| c.shape().iter().product::<usize>() * 4)
            .sum()
    }

    /// Evaluates the graph on one batch: `inputs[i]` is NHWC (as declared, any batch size N,
    /// the same for every input); returns the outputs in graph order, batch N.
    ///
    /// A large batch runs in sub-batches whose largest activation stays within
    /// [`SUB_BATCH_BYTES`]: with big feature maps, eight images at once overflow the caches
    /// and run slower per image than one at a time (mobilenet_v2: 37 vs 60 images/s). The
    /// sub-batches run in parallel over the rayon pool. Integer graphs split the same way
    /// (their kernels decode the weights once, at preparation).
    pub fn run(&self, inputs: &[ArrayD<f32>]) -> Result<Vec<ArrayD<f32>>> {
        let run = |_, sub: &[ArrayD<f32>]| Ok((self.execute(sub, None, None)?, ()));
        self.run_chunks(inputs, &run).map(|(outputs, _)| outputs)
    }

    /// Splits `inputs` into the sub-batches [`Executor::run`] uses, runs `run` on each (with
    /// its index) in parallel over the rayon pool and joins their outputs; also returns what
    /// else each sub-batch's run returned, in order.
    pub(crate) fn run_chunks<T: Send>(
        &self,
        inputs: &[ArrayD<f32>],
        run: &SubBatchRun<T>,
    ) -> Result<(Vec<ArrayD<f32>>, Vec<T>)> {
        let n = inputs
            .first()
            .map_or(0, |x| x.shape().first().copied().unwrap_or(0));
        let per_sample = self
            .steps
            .iter()
            .flat_map(|s| s.shapes.iter())
            .map(|shape| shape.iter().skip(1).product::<usize>() * 4)
            .max()
            .unwrap_or(0);
        let chunk = (SUB_BATCH_BYTES / per_sample.max(1)).max(1);
        if n <= chunk {
            let (outputs, extra) = run(0, inputs)?;
            return Ok((outputs, vec![extra]));
        }
        // Sub-batches run in parallel over the pool: each thread keeps its own sub-batch in
        // its cache, which scales better than splitting every op of one sub-batch.
        let starts: Vec<usize> = (0..n).step_by(chunk).collect();
        let (parts, extras): (Vec<Vec<ArrayD<f32>>>, Vec<T>) = starts
            .par_iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = (start + chunk).min(n);
                let sub: Vec<ArrayD<f32>> = inputs
                    .iter()
                    .map(|x| {
                        x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(start..end))
                            .to_owned()
                    })
                    .collect();
                run(i, &sub)
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        if parts.iter().any(Vec::is_empty) {
            // Runs stopped early have no outputs to join.
            return Ok((Vec::new(), extras));
        }
        let outputs = (0..self.outputs.len())
            .map(|i| {
                let views: Vec<_> = parts.iter().map(|p| p[i].view()).collect();
                ndarray::concatenate(ndarray::Axis(0), &views).map_err(|e| {
                    ExecError::Graph(format!("output {i}: cannot join sub-batches: {e}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((outputs, extras))
    }

    /// [`Executor::run`] on one batch, calling `observe` with every layer output as soon
    /// as it is computed (see [`LayerOutput`]); an error from `observe` stops the run.
    pub fn run_observed(
        &self,
        inputs: &[ArrayD<f32>],
        observe: &mut dyn FnMut(LayerOutput) -> Result<()>,
    ) -> Result<Vec<ArrayD<f32>>> {
        self.execute(inputs, Some(observe), None)
    }

    /// Runs the first `samples` samples of `data` (one array per input, samples on axis 0)
    /// `batch` at a time, telling `observe` every layer output and `done` the samples run
    /// after each batch: the loop of every data-driven pass (calibration, noise analysis).
    pub fn run_batches(
        &self,
        data: &[ArrayD<f32>],
        samples: usize,
        batch: usize,
        observe: &mut Observer,
        done: &mut dyn FnMut(usize),
    ) -> Result<()> {
        for start in (0..samples).step_by(batch.max(1)) {
            let end = (start + batch.max(1)).min(samples);
            let inputs: Vec<ArrayD<f32>> = data
                .iter()
                .map(|x| {
                    x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(start..end))
                        .to_owned()
                })
                .collect();
            self.execute(&inputs, Some(observe), None)?;
            done(end);
        }
        Ok(())
    }

    /// One batch through the plan, reusing and recording values through `memo`.
    pub(crate) fn execute_memo(
        &self,
        inputs: &[ArrayD<f32>],
        memo: &mut Memo,
    ) -> Result<Vec<ArrayD<f32>>> {
        self.execute(inputs, None, Some(memo))
    }

    fn execute(
        &self,
        inputs: &[ArrayD<f32>],
        mut observe: Option<&mut Observer>,
        mut memo: Option<&mut Memo>,
    ) -> Result<Vec<ArrayD<f32>>> {
        self.check_inputs(inputs)?;
        let mut slots: Vec<Option<Value>> = vec![None; self.slots];
        for (i, x) in inputs.iter().enumerate() {
            slots[i] = Some(Value::F32(x.as_standard_layout().into_owned()));
        }
        let mut pool = BufferPool::default();
        let needed = memo.as_ref().map(|m| self.needed_slots(m));
        for step in &self.steps {
            if let (Some(m), Some(needed)) = (memo.as_mut(), &needed) {
                if let Some(shared) = m.reuse(step.id, &step.operands, &step.values) {
                    // Only values an evaluated op reads are copied out of the recording.
                    for (x, &slot) in shared.iter().zip(&step.results) {
                        if needed[slot] {
                            slots[slot] = Some(Value::clone(x));
                        }
                    }
                    for &s in &step.last_uses {
                        if let Some(v) = slots[s].take() {
                            pool.release(v);
                        }
                    }
                    if m.stop == Some(step.id) {
                        return Ok(Vec::new());
                    }
                    continue;
                }
            }
            let results = self.eval_step(step, &mut slots, &mut pool)?;
            if let Some(m) = memo.as_mut() {
                m.keep(&step.values, &results);
            }
            if results.len() != step.results.len() {
                return Err(self.layer_err(
                    step,
                    format!(
                        "computed {} result(s) but the op has {}",
                        results.len(),
                        step.results.len()
                    ),
                ));
            }
            for (i, (value, &slot)) in results.into_iter().zip(&step.results).enumerate() {
                let declared = &step.shapes[i];
                if !same_except_batch(value.shape(), declared) {
                    return Err(self.layer_err(step, format!(
                        "computed result {i} has shape {:?} but the graph declares {declared:?} (batch excluded)",
                        value.shape()
                    )));
                }
                if let (Some(observe), Some(shown)) = (observe.as_mut(), &step.observed[i]) {
                    show(step, i, shown, &value, *observe)?;
                }
                slots[slot] = Some(value);
            }
            for &s in &step.last_uses {
                if let Some(v) = slots[s].take() {
                    pool.release(v);
                }
            }
            if memo.as_ref().is_some_and(|m| m.stop == Some(step.id)) {
                // A run stopped early has no outputs (see `Executor::run_resumed_until`).
                return Ok(Vec::new());
            }
        }
        self.output_sources
            .iter()
            .enumerate()
            .map(|(i, src)| {
                let value = match *src {
                    Operand::Const(c) => Some(&self.consts[c]),
                    Operand::Slot(s) => slots[s].as_ref(),
                };
                match value {
                    Some(Value::F32(a)) => Ok(a.clone()),
                    Some(Value::I32(_)) => Err(ExecError::Graph(format!(
                        "output {i} holds integer codes, not f32 (missing q.dequantize?)"
                    ))),
                    None => Err(ExecError::Graph(format!("output {i} was not computed"))),
                }
            })
            .collect()
    }

    /// The slots a run through `memo` must fill: those an evaluated op reads (an op the memo
    /// cannot reuse, before the stop) and the outputs. A reused value no evaluated op reads
    /// stays in the recording only.
    fn needed_slots(&self, memo: &Memo) -> Vec<bool> {
        let mut needed = vec![false; self.slots];
        let mut fresh = FxHashSet::default();
        for step in &self.steps {
            if !memo.reusable(step.id, &step.operands, &step.values, &fresh) {
                fresh.extend(step.values.iter().copied());
                for a in &step.args {
                    if let Operand::Slot(s) = *a {
                        needed[s] = true;
                    }
                }
            }
            if memo.stop == Some(step.id) {
                return needed;
            }
        }
        for src in &self.output_sources {
            if let Operand::Slot(s) = *src {
                needed[s] = true;
            }
        }
        needed
    }

    fn layer_err(&self, step: &Step, message: String) -> ExecError {
        ExecError::Layer {
            layer: step.layer.clone(),
            op: step.op,
            message,
        }
    }

    fn eval_step(
        &self,
        step: &Step,
        slots: &mut [Option<Value>],
        pool: &mut BufferPool,
    ) -> Result<Vec<Value>> {
        // Operands read for the last time (and only once by this op) are moved in.
        let mut owned: Vec<Option<Value>> = step
            .args
            .iter()
            .map(|a| match *a {
                Operand::Slot(s)
                    if step.last_uses.contains(&s)
                        && step.args.iter().filter(|&&b| b == *a).count() == 1 =>
                {
                    slots[s].take()
                }
                _ => None,
            })
            .collect();
        let mut args = Vec::with_capacity(step.args.len());
        for (i, a) in step.args.iter().enumerate() {
            args.push(match (owned[i].take(), *a) {
                (Some(x), _) => Arg::Owned(x),
                (None, Operand::Const(c)) => Arg::Borrowed(&self.consts[c]),
                (None, Operand::Slot(s)) => Arg::Borrowed(
                    slots[s]
                        .as_ref()
                        .ok_or_else(|| self.layer_err(step, format!("operand {i} has no value")))?,
                ),
            });
        }
        step.kernel
            .run(args, pool)
            .map_err(|source| ExecError::Kernel {
                layer: step.layer.clone(),
                op: step.op,
                source,
            })
    }

    fn check_inputs(&self, inputs: &[ArrayD<f32>]) -> Result<()> {
        if inputs.len() != self.inputs.len() {
            return Err(ExecError::Graph(format!(
                "expected {} input(s) ({}), got {}",
                self.inputs.len(),
                self.inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                inputs.len()
            )));
        }
        let batch = inputs.first().and_then(|x| x.shape().first().copied());
        for (index, (x, info)) in inputs.iter().zip(&self.inputs).enumerate() {
            let err = |message: String| ExecError::Input {
                index,
                name: info.name.clone(),
                message,
            };
            let mut expected: Vec<String> = info.shape.iter().map(usize::to_string).collect();
            if let Some(first) = expected.first_mut() {
                *first = "N".into();
            }
            // An empty batch only where the graph declares axis 0 empty (its own axis, then).
            let empty = x.shape().first() == Some(&0) && info.shape.first() != Some(&0);
            if !same_except_batch(x.shape(), &info.shape) || empty {
                return Err(err(format!(
                    "expected shape [{}] (NHWC, N >= 1), got {:?}",
                    expected.join(", "),
                    x.shape()
                )));
            }
            if x.shape().first().copied() != batch {
                return Err(err(format!(
                    "batch size {:?} differs from input 0's {:?}",
                    x.shape().first(),
                    batch
                )));
            }
        }
        Ok(())
    }
}

/// Tells `observe` about result `i` of `step`.
fn show(
    step: &Step,
    i: usize,
    shown: &Observed,
    value: &Value,
    observe: &mut dyn FnMut(LayerOutput) -> Result<()>,
) -> Result<()> {
    let dequantized;
    let value = match (value, shown.dequantize) {
        (Value::F32(a), _) => a,
        (Value::I32(c), Some((scale, zp))) => {
            dequantized = crate::qkernels::dequantize(c.view(), scale, zp);
            &dequantized
        }
        (Value::I32(_), None) => return Ok(()),
    };
    observe(LayerOutput {
        layer: &shown.name,
        op: step.op,
        result: i,
        value,
    })
}

/// Shape check of a result against the declared one (batch excluded).
fn same_except_batch(actual: &[usize], declared: &[usize]) -> bool {
    actual.len() == declared.len() && actual.iter().skip(1).eq(declared.iter().skip(1))
}

fn arg_shape(m: &Module, v: ValueId) -> std::result::Result<Vec<usize>, String> {
    let ty = m.value_type(v);
    let dims = ty
        .shape()
        .ok_or_else(|| format!("expected a tensor type, found {ty}"))?;
    dims.iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("type {ty} has a dynamic dimension")))
        .collect()
}

/// Records in each step the slots it reads for the last time (outputs are never freed).
fn assign_last_uses(steps: &mut [Step], outputs: &[Operand]) {
    let mut last: FxHashMap<usize, usize> = FxHashMap::default();
    for (i, step) in steps.iter().enumerate() {
        for a in &step.args {
            if let Operand::Slot(s) = *a {
                last.insert(s, i);
            }
        }
    }
    for o in outputs {
        if let Operand::Slot(s) = *o {
            last.remove(&s);
        }
    }
    let mut by_step: Vec<(usize, usize)> = last.into_iter().map(|(s, i)| (i, s)).collect();
    by_step.sort_unstable();
    for (i, s) in by_step {
        steps[i].last_uses.push(s);
    }
}

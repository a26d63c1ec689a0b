//! Passes on `hl`: the model modification commands (guide §5.3.3), one module per model script
//! command, and the parse-time rewrites the `hailo-parse` pipeline runs after a frontend's
//! faithful import (`hl-fold-*`, `hl-fuse-*`, `hl-name-layers`; helpers in `fusion`). This
//! module holds what they share:
//! finding graphs and layers, fresh layer names, building ops with the dialect's type
//! inference, inserting right after an input layer, and keeping graph signatures in sync.

pub mod change_output_activation;
pub mod dead_channels_removal;
pub mod dead_layers_removal;
pub mod fold_batchnorm;
pub mod fold_bias;
pub mod fold_pad;
pub mod fuse_activation;
pub mod fuse_conv_add;
pub(crate) mod fusion;
pub mod global_avgpool_reduction;
pub mod input_conversion;
pub mod logits_layer;
pub mod name_layers;
pub mod nms_postprocess;
pub mod normalization;
pub mod resize;
pub mod se_optimization;
pub mod set_seed;
pub mod transpose;

use hailo_dialect_hl as hl;
use hailo_ir::builtin::GRAPH;
use hailo_ir::pass::{PassCx, PassFailed};
use hailo_ir::{Attribute, Context, Diagnostic, Module, OpId, OpSpec, Type, ValueId};

/// Result of a helper: a message the pass reports at the graph's location.
pub(crate) type Res<T> = Result<T, String>;

/// The graphs a pass anchored on `root` modifies: `root` itself or every graph below it.
pub(crate) fn graphs(m: &Module, root: OpId) -> Vec<OpId> {
    m.walk(root)
        .into_iter()
        .filter(|&op| m.op(op).name_str() == GRAPH)
        .collect()
}

/// The ops of a graph's body, in order.
pub(crate) fn body_ops(m: &Module, graph: OpId) -> Vec<OpId> {
    let region = m.op(graph).regions()[0];
    m.block_ops(m.region(region).blocks()[0])
}

/// The `layer` name of an op.
pub(crate) fn layer_name(m: &Module, op: OpId) -> Option<&str> {
    m.attr(op, "layer").and_then(Attribute::as_str)
}

/// Ops of `graph` named `op_name`, in order.
pub(crate) fn ops_named(m: &Module, graph: OpId, op_name: &str) -> Vec<OpId> {
    body_ops(m, graph)
        .into_iter()
        .filter(|&op| m.op(op).name_str() == op_name)
        .collect()
}

/// The op whose layer is `name`.
pub(crate) fn find_layer(m: &Module, graph: OpId, name: &str) -> Option<OpId> {
    body_ops(m, graph)
        .into_iter()
        .find(|&op| layer_name(m, op) == Some(name))
}

/// `hl.input_layer` ops to modify: the one named `layer` (an error naming the inputs when
/// absent), or all of them when `layer` is empty.
pub(crate) fn select_inputs(m: &Module, graph: OpId, layer: &str) -> Res<Vec<OpId>> {
    select(m, graph, hl::InputLayer::NAME, layer, "input")
}

/// `hl.output_layer` ops to modify, by the output layer's name or the name of the layer
/// feeding it; all of them when `layer` is empty.
pub(crate) fn select_outputs(m: &Module, graph: OpId, layer: &str) -> Res<Vec<OpId>> {
    let outputs = ops_named(m, graph, hl::OutputLayer::NAME);
    if !layer.is_empty() {
        let feeding = outputs.iter().copied().find(|&o| {
            m.defining_op(m.operand(o, 0))
                .is_some_and(|p| layer_name(m, p) == Some(layer))
        });
        if let Some(o) = feeding {
            return Ok(vec![o]);
        }
    }
    select(m, graph, hl::OutputLayer::NAME, layer, "output")
}

fn select(m: &Module, graph: OpId, op_name: &str, layer: &str, what: &str) -> Res<Vec<OpId>> {
    let all = ops_named(m, graph, op_name);
    if layer.is_empty() {
        return Ok(all);
    }
    match all.iter().find(|&&op| layer_name(m, op) == Some(layer)) {
        Some(&op) => Ok(vec![op]),
        None => Err(format!(
            "no {what} layer named '{layer}'; the {what} layers are: {}",
            all.iter()
                .filter_map(|&op| layer_name(m, op))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `prefix<n>` with the smallest `n >= 1` no layer of the graph uses.
pub(crate) fn fresh_layer(m: &Module, graph: OpId, prefix: &str) -> String {
    let used: Vec<String> = body_ops(m, graph)
        .into_iter()
        .filter_map(|op| layer_name(m, op).map(str::to_owned))
        .collect();
    (1..)
        .map(|n| format!("{prefix}{n}"))
        .find(|n| !used.contains(n))
        .unwrap_or_default()
}

/// The layer name for the `index`-th op a command creates: the script's name when given,
/// else a fresh `prefix<n>`.
pub(crate) fn pick_name(
    m: &Module,
    graph: OpId,
    names: &[String],
    index: usize,
    prefix: &str,
) -> Res<String> {
    match names.get(index) {
        Some(n) if find_layer(m, graph, n).is_some() => {
            Err(format!("layer name '{n}' is already used in the graph"))
        }
        Some(n) => Ok(n.clone()),
        None => Ok(fresh_layer(m, graph, prefix)),
    }
}

/// Creates an op (not yet placed) whose result type the dialect infers; `result` is used when
/// the op has no inference or reads its result type (resize).
pub(crate) fn build(ctx: &Context, m: &mut Module, spec: OpSpec, result: Type) -> Res<OpId> {
    let name = spec.name.as_str().to_owned();
    let op = m.create_op(spec.results(&[result]));
    if let Some(infer) = ctx.op_def(&name).and_then(|d| d.infer_types) {
        match infer(m, op) {
            Ok(types) if types.len() == 1 => m.set_value_type(m.result(op, 0), types[0]),
            Ok(_) => {}
            Err(e) => {
                let layer = layer_name(m, op).unwrap_or("?").to_owned();
                m.erase_op(op);
                return Err(format!("cannot create '{name}' layer '{layer}': {e}"));
            }
        }
    }
    Ok(op)
}

/// Places `op` (whose operand 0 is `value`) right after `anchor` and makes every other user of
/// `value` read the op's result instead: the guide's "directly after the input layer".
pub(crate) fn splice_after(m: &mut Module, anchor: OpId, op: OpId, value: ValueId) {
    match m.next_op(anchor) {
        Some(next) => m.insert_before(next, op),
        None => {
            if let Some(block) = m.op(anchor).parent_block() {
                m.append_op(block, op);
            }
        }
    }
    let new = m.result(op, 0);
    m.replace_all_uses(value, new);
    m.set_operand(op, 0, value);
}

/// Places `op` right before `anchor`.
pub(crate) fn place_before(m: &mut Module, anchor: OpId, op: OpId) {
    m.insert_before(anchor, op);
}

/// Re-derives the graph's `function_type` from its arguments and returned values.
pub(crate) fn sync_signature(m: &mut Module, graph: OpId) {
    let region = m.op(graph).regions()[0];
    let block = m.region(region).blocks()[0];
    let inputs: Vec<Type> = m
        .block(block)
        .args()
        .iter()
        .map(|&a| m.value_type(a))
        .collect();
    let results: Vec<Type> = m
        .block(block)
        .last_op()
        .map(|ret| {
            m.op(ret)
                .operands()
                .iter()
                .map(|&v| m.value_type(v))
                .collect()
        })
        .unwrap_or_default();
    m.set_attr(
        graph,
        "function_type",
        Attribute::Type(Type::function(inputs, results)),
    );
}

/// Changes an input layer's type, and the graph argument it wraps.
pub(crate) fn retype_input(m: &mut Module, input: OpId, ty: Type) {
    let arg = m.operand(input, 0);
    m.set_value_type(arg, ty);
    let r = m.result(input, 0);
    m.set_value_type(r, ty);
}

/// Makes an output layer take `value`, with its type, through to the graph's return.
pub(crate) fn retarget_output(m: &mut Module, output: OpId, value: ValueId) {
    m.set_operand(output, 0, value);
    let ty = m.value_type(value);
    let r = m.result(output, 0);
    m.set_value_type(r, ty);
}

/// Emits `message` as an error at the graph's location.
pub(crate) fn fail_at(
    cx: &mut PassCx<'_>,
    m: &Module,
    graph: OpId,
    pass: &str,
    message: String,
) -> PassFailed {
    cx.fail(Diagnostic::error(
        m.op(graph).loc.clone(),
        format!("{pass}: {message}"),
    ))
}

/// A tensor type with a new shape and the same element type.
pub(crate) fn reshaped(ty: Type, shape: &[i64]) -> Type {
    Type::tensor(shape, ty.element())
}

/// The shape of a tensor value (empty for non-tensors).
pub(crate) fn shape_of(m: &Module, v: ValueId) -> Vec<i64> {
    m.value_type(v)
        .shape()
        .map(<[i64]>::to_vec)
        .unwrap_or_default()
}

/// Whether a pass runs under the guide's `policy` word `p` of the algorithm `what`: `enabled`
/// yes, `disabled` no, and `allowed` (where `allowed` is one of the algorithm's words) yes;
/// anything else is an error naming the words.
pub(crate) fn policy_runs(p: &str, what: &str, allowed: bool) -> Result<bool, String> {
    match p {
        "enabled" => Ok(true),
        "allowed" if allowed => Ok(true),
        "disabled" => Ok(false),
        _ if allowed => Err(format!(
            "unknown {what} policy '{p}' (enabled, allowed, disabled)"
        )),
        _ => Err(format!("unknown {what} policy '{p}' (enabled, disabled)")),
    }
}

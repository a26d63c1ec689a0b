//! The HN view of an `hl` module: Hailo's JSON network description plus the weights that
//! go to the NPZ under HN's keys.
//!
//! Layers are keyed `<net>/<layer>` and listed in the graph's order (the `.hn` text keeps
//! that order, as the DFC's does). Each has `type`, `input`/`output` (scoped neighbour
//! names, one entry per edge), `input_shapes`/`output_shapes` (`[-1, ...]`, batch first),
//! `original_names` (from the op's location) and `params`. Constants feeding a weight slot
//! become NPZ arrays `<net>/<layer>/<slot>:0`; constants feeding data inputs become
//! `const_input` layers. `net_params.output_layers_order` lists the layers feeding the output
//! layers, in graph-output order, as the DFC does. Extensions of ours: `output_ports` on
//! multi-result layers (which result each `output` edge carries) and
//! `net_params.input_layers_order` (graph-argument order).

use crate::layers::{self, Form, LayerKind};
use hailo_dialect_hl::{Const, InputLayer, OutputLayer};
use hailo_ir::{Attribute, BlockId, Module, OpId, Type, ValueId};
use rustc_hash::FxHashMap;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// One NPZ entry: its key and the `hl.const` op holding the value.
pub(crate) struct WeightRef {
    pub npz_key: String,
    pub op: OpId,
}

/// The HN document with its layers in graph order.
#[derive(Serialize)]
pub(crate) struct HnDoc {
    pub name: String,
    pub net_params: Value,
    pub layers: OrderedLayers,
}

/// Layers serialized as a JSON object in insertion order.
pub(crate) struct OrderedLayers(pub Vec<(String, Value)>);

impl Serialize for OrderedLayers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

pub(crate) struct HnView {
    pub doc: HnDoc,
    pub weights: Vec<WeightRef>,
    /// Layer names used by more than one op.
    pub duplicates: Vec<String>,
}

/// The network's name: the module's symbol, else its graph's, else `net`.
pub(crate) fn net_name(m: &Module) -> String {
    let graph = main_graph(m);
    m.symbol_name(m.top())
        .or_else(|| graph.and_then(|g| m.symbol_name(g)))
        .unwrap_or("net")
        .to_string()
}

/// The first `builtin.graph` of the module (or the top op itself when it is one).
pub(crate) fn main_graph(m: &Module) -> Option<OpId> {
    let top = m.top();
    if m.op(top).name_str() == hailo_ir::builtin::GRAPH {
        return Some(top);
    }
    m.child_ops(top)
        .into_iter()
        .find(|&op| m.op(op).name_str() == hailo_ir::builtin::GRAPH)
}

pub(crate) fn graph_block(m: &Module, graph: OpId) -> Option<BlockId> {
    let r = *m.op(graph).regions().first()?;
    m.region(r).blocks().first().copied()
}

/// HN shape: the batch dimension as -1.
pub(crate) fn hn_shape(ty: Type) -> Value {
    let dims = ty.shape().unwrap_or(&[]);
    Value::Array(
        dims.iter()
            .enumerate()
            .map(|(i, &d)| json!(if i == 0 { -1 } else { d }))
            .collect(),
    )
}

fn is_const(m: &Module, op: OpId) -> bool {
    Const::cast(m, op).is_some()
}

/// The NPZ slot of operand `i` of `op`, when that operand is a constant in a weight slot.
pub(crate) fn weight_slot(m: &Module, op: OpId, i: usize) -> Option<&'static str> {
    let kind = layers::by_op(m.op(op).name_str())?;
    let slot = kind.weights.get(i.checked_sub(1)?)?;
    let def = m.defining_op(m.operand(op, i))?;
    is_const(m, def).then_some(*slot)
}

struct Builder<'m> {
    m: &'m Module,
    net: String,
    /// Layer name (unscoped) of every op that is a layer.
    names: FxHashMap<OpId, String>,
    order: FxHashMap<OpId, usize>,
}

impl Builder<'_> {
    fn scoped(&self, op: OpId) -> String {
        format!("{}/{}", self.net, self.names[&op])
    }

    /// The HN type of a layer op.
    fn hn_type(&self, op: OpId) -> String {
        let o = self.m.op(op);
        match layers::by_op(o.name_str()) {
            Some(k) if !k.kinds.is_empty() => {
                format!(
                    "{}_{}",
                    k.hn_type,
                    o.attr("kind")
                        .and_then(Attribute::as_str)
                        .unwrap_or("unknown")
                )
            }
            Some(k) => k.hn_type.to_string(),
            None if is_const(self.m, op) => layers::CONST_INPUT.to_string(),
            None => o.name_str().to_string(),
        }
    }

    /// Data operands: `(producer layer, value)` for every operand that is not a weight slot.
    fn data_inputs(&self, op: OpId) -> Vec<(Option<OpId>, ValueId)> {
        let o = self.m.op(op);
        (0..o.operands().len())
            .filter(|&i| weight_slot(self.m, op, i).is_none())
            .map(|i| (self.m.defining_op(o.operands()[i]), o.operands()[i]))
            .collect()
    }

    fn params(&self, op: OpId, kind: Option<&LayerKind>) -> Map<String, Value> {
        let mut params = Map::new();
        let Some(kind) = kind else {
            // Ops outside the table keep their attributes under their IR names.
            for (k, v) in self.m.op(op).attrs() {
                if !matches!(k.as_str(), "layer" | "value") {
                    params.insert(k.as_str().to_string(), layers::attr_to_json(v));
                }
            }
            return params;
        };
        for &(name, form) in kind.attrs {
            let Some(a) = self.m.attr(op, name) else {
                continue;
            };
            let v = layers::attr_to_json(a);
            let v = match form {
                Form::Spatial | Form::SpatialAs(_) => layers::to_nhwc(v),
                Form::Same | Form::Renamed(_) => v,
            };
            params.insert(form.hn_name(name).to_string(), v);
        }
        if kind.weights.first() == Some(&"kernel") && self.m.op(op).operands().len() > 1 {
            params.insert(
                "kernel_shape".into(),
                json!(self
                    .m
                    .value_type(self.m.operand(op, 1))
                    .shape()
                    .unwrap_or(&[])),
            );
        }
        params
    }

    fn layer(&self, op: OpId) -> Value {
        let m = self.m;
        let o = m.op(op);
        let kind = layers::by_op(o.name_str());
        let (mut input, mut input_shapes) = (Vec::new(), Vec::new());
        for (producer, v) in self.data_inputs(op) {
            if let Some(p) = producer.filter(|p| self.names.contains_key(p)) {
                input.push(json!(self.scoped(p)));
            }
            input_shapes.push(hn_shape(m.value_type(v)));
        }
        // Output edges: one per use by a layer, in consumer order.
        let mut edges = Vec::new();
        for (port, &r) in o.results().iter().enumerate() {
            for u in m.value(r).uses() {
                if self.names.contains_key(&u.op)
                    && weight_slot(m, u.op, u.index as usize).is_none()
                {
                    edges.push((self.order[&u.op], u.index, port, u.op, r));
                }
            }
        }
        edges.sort_unstable_by_key(|e| (e.0, e.1, e.2));
        let output: Vec<Value> = edges.iter().map(|e| json!(self.scoped(e.3))).collect();
        let output_shapes: Vec<Value> = if edges.is_empty() {
            o.results()
                .iter()
                .map(|&r| hn_shape(m.value_type(r)))
                .collect()
        } else {
            edges.iter().map(|e| hn_shape(m.value_type(e.4))).collect()
        };
        let mut layer = json!({
            "type": self.hn_type(op),
            "input": input,
            "input_shapes": input_shapes,
            "output": output,
            "output_shapes": output_shapes,
            "original_names": o.loc.names(),
            "params": self.params(op, kind),
        });
        if o.results().len() > 1 {
            layer["output_ports"] = json!(edges.iter().map(|e| e.2).collect::<Vec<_>>());
        }
        layer
    }
}

/// Builds the HN document and the NPZ entries of a module.
pub(crate) fn build(m: &Module) -> HnView {
    let net = net_name(m);
    let mut b = Builder {
        m,
        net: net.clone(),
        names: FxHashMap::default(),
        order: FxHashMap::default(),
    };
    let ops = main_graph(m)
        .and_then(|g| graph_block(m, g))
        .map(|blk| m.block_ops(blk))
        .unwrap_or_default();
    // Name every layer: its `layer` attribute, or a fresh `const_input<k>` / `<op>_<index>`.
    let taken: std::collections::HashSet<String> = ops
        .iter()
        .filter_map(|&op| {
            m.attr(op, "layer")
                .and_then(Attribute::as_str)
                .map(str::to_string)
        })
        .collect();
    let mut const_count = 0;
    let mut seen = FxHashMap::default();
    let mut duplicates = Vec::new();
    for (i, &op) in ops.iter().enumerate() {
        b.order.insert(op, i);
        let o = m.op(op);
        if o.name_str() == hailo_ir::builtin::RETURN {
            continue;
        }
        let name = if let Some(n) = o.attr("layer").and_then(Attribute::as_str) {
            n.to_string()
        } else if is_const(m, op) {
            let data_use = o.results().iter().any(|&r| {
                m.value(r).uses().iter().any(|u| {
                    m.op(u.op).name_str() != hailo_ir::builtin::RETURN
                        && weight_slot(m, u.op, u.index as usize).is_none()
                })
            });
            if !data_use {
                continue;
            }
            loop {
                const_count += 1;
                let n = format!("{}{const_count}", layers::CONST_INPUT);
                if !taken.contains(&n) {
                    break n;
                }
            }
        } else {
            format!("{}_{i}", o.name_str().rsplit('.').next().unwrap_or("op"))
        };
        if seen.insert(name.clone(), op).is_some() {
            duplicates.push(name.clone());
        }
        b.names.insert(op, name);
    }
    let mut layer_list = Vec::new();
    let mut weights = Vec::new();
    for &op in &ops {
        if !b.names.contains_key(&op) {
            continue;
        }
        let scoped = b.scoped(op);
        if is_const(m, op) {
            weights.push(WeightRef {
                npz_key: format!("{scoped}/const:0"),
                op,
            });
        }
        for i in 0..m.op(op).operands().len() {
            if let Some(slot) = weight_slot(m, op, i) {
                let def = m
                    .defining_op(m.operand(op, i))
                    .expect("weight slots are op results");
                weights.push(WeightRef {
                    npz_key: format!("{scoped}/{slot}:0"),
                    op: def,
                });
            }
        }
        layer_list.push((scoped, b.layer(op)));
    }
    let doc = HnDoc {
        name: net,
        net_params: net_params(&b, &ops),
        layers: OrderedLayers(layer_list),
    };
    HnView {
        doc,
        weights,
        duplicates,
    }
}

fn net_params(b: &Builder<'_>, ops: &[OpId]) -> Value {
    let m = b.m;
    let mut inputs: Vec<(usize, String)> = Vec::new();
    let mut outputs = Vec::new();
    for &op in ops {
        let o = m.op(op);
        if InputLayer::cast(m, op).is_some() {
            if let Some(&v) = o.operands().first() {
                if let hailo_ir::module::ValueDef::BlockArg(_, idx) = m.value(v).def {
                    inputs.push((idx as usize, b.scoped(op)));
                }
            }
        }
        if o.name_str() == hailo_ir::builtin::RETURN {
            for &v in o.operands() {
                let Some(mut p) = m.defining_op(v) else {
                    continue;
                };
                if OutputLayer::cast(m, p).is_some() {
                    match m.op(p).operands().first().and_then(|&x| m.defining_op(x)) {
                        Some(q) => p = q,
                        None => continue,
                    }
                }
                if b.names.contains_key(&p) {
                    outputs.push(json!(b.scoped(p)));
                }
            }
        }
    }
    inputs.sort();
    json!({
        "net_scopes": [b.net],
        "input_layers_order": inputs.into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
        "output_layers_order": outputs,
    })
}

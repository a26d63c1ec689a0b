//! Rebuilding an `hl` module from an HN and its NPZ, for archives without our metadata
//! (a HAR written by the DFC, or one whose metadata was removed).
//!
//! Layers are created in dependency order (ties keep the file's order), constants in
//! weight slots come from `<net>/<layer>/<slot>:0`, shapes from `output_shapes` with the
//! batch as 1, element types f32. Every layer type must be known: otherwise the error lists
//! each unsupported layer and its type. Vendor flags we cannot express (`elementwise_add`,
//! `batch_norm` fused into a conv) are errors too, never dropped.

use crate::hn::{HnDoc, OrderedLayers};
use crate::layers::{self, Form};
use crate::weights::f32_blob;
use hailo_dialect_hl::{Const, Split};
use hailo_ir::{Attribute, BlockId, Location, Module, OpSpec, Sym, Type, ValueId};
use hailo_npz::NpyArray;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

impl<'de> Deserialize<'de> for OrderedLayers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OrderedLayers, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedLayers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of layers keyed by scoped layer name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<OrderedLayers, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(OrderedLayers(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for HnDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HnDoc, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            name: String,
            #[serde(default)]
            net_params: Value,
            layers: OrderedLayers,
        }
        let r = Raw::deserialize(d)?;
        Ok(HnDoc {
            name: r.name,
            net_params: r.net_params,
            layers: r.layers,
        })
    }
}

/// Why an HN could not become a module.
#[derive(Debug)]
pub(crate) enum RebuildError {
    Layer { layer: String, message: String },
    Unsupported(Vec<(String, String)>),
}

fn fail<T>(layer: &str, message: impl Into<String>) -> Result<T, RebuildError> {
    Err(RebuildError::Layer {
        layer: layer.to_string(),
        message: message.into(),
    })
}

struct Layer<'a> {
    name: &'a str,
    short: &'a str,
    ty: &'a str,
    input: Vec<&'a str>,
    input_shapes: Vec<Vec<i64>>,
    output: Vec<&'a str>,
    output_shapes: Vec<Vec<i64>>,
    ports: Option<Vec<usize>>,
    original_names: Vec<&'a str>,
    params: Option<&'a Map<String, Value>>,
}

fn str_list<'a>(layer: &str, v: &'a Value, field: &str) -> Result<Vec<&'a str>, RebuildError> {
    match v.get(field) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|x| {
                x.as_str().map_or_else(
                    || fail(layer, format!("'{field}' must hold strings, found {x}")),
                    Ok,
                )
            })
            .collect(),
        Some(other) => fail(layer, format!("'{field}' must be a list, found {other}")),
    }
}

/// A list of HN shapes; the leading -1 (batch) becomes 1.
fn shape_list(layer: &str, v: &Value, field: &str) -> Result<Vec<Vec<i64>>, RebuildError> {
    let bad = |x: &Value| RebuildError::Layer {
        layer: layer.to_string(),
        message: format!("'{field}' must be a list of shapes like [-1, 56, 56, 64], found {x}"),
    };
    let Some(list) = v.get(field) else {
        return Ok(Vec::new());
    };
    let Some(items) = list.as_array() else {
        return Err(bad(list));
    };
    items
        .iter()
        .map(|s| {
            let Some(dims) = s.as_array() else {
                return Err(bad(s));
            };
            let shape = dims
                .iter()
                .enumerate()
                .map(|(i, d)| match d.as_i64() {
                    Some(-1) if i == 0 => Ok(1),
                    Some(n) if n >= 0 => Ok(n),
                    _ => Err(bad(s)),
                })
                .collect::<Result<Vec<i64>, _>>()?;
            hailo_guard::limits::check_shape(&shape).map_err(|e| RebuildError::Layer {
                layer: layer.to_string(),
                message: format!("'{field}' shape {shape:?} has {e}"),
            })?;
            Ok(shape)
        })
        .collect()
}

fn parse_layer<'a>(net: &str, name: &'a str, v: &'a Value) -> Result<Layer<'a>, RebuildError> {
    if !v.is_object() {
        return fail(name, "a layer must be a JSON object");
    }
    let Some(ty) = v.get("type").and_then(Value::as_str) else {
        return fail(name, "has no string 'type'");
    };
    let short = name
        .strip_prefix(net)
        .and_then(|s| s.strip_prefix('/'))
        .unwrap_or(name);
    let ports = match v.get("output_ports") {
        None => None,
        Some(p) => Some(
            p.as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_u64().map(|n| n as usize))
                        .collect::<Option<Vec<_>>>()
                })
                .map_or_else(
                    || fail(name, "'output_ports' must be a list of result indices"),
                    Ok,
                )?,
        ),
    };
    let params = match v.get("params") {
        None => None,
        Some(Value::Object(p)) => Some(p),
        Some(other) => return fail(name, format!("'params' must be an object, found {other}")),
    };
    Ok(Layer {
        name,
        short,
        ty,
        input: str_list(name, v, "input")?,
        input_shapes: shape_list(name, v, "input_shapes")?,
        output: str_list(name, v, "output")?,
        output_shapes: shape_list(name, v, "output_shapes")?,
        ports,
        original_names: str_list(name, v, "original_names")?,
        params,
    })
}

/// Layer indices in dependency order, ties in file order.
fn topo_order(
    layers: &[Layer<'_>],
    index: &HashMap<&str, usize>,
) -> Result<Vec<usize>, RebuildError> {
    let mut indegree = vec![0usize; layers.len()];
    let mut users = vec![Vec::new(); layers.len()];
    for (i, l) in layers.iter().enumerate() {
        for inp in &l.input {
            let Some(&p) = index.get(inp) else {
                return fail(l.name, format!("input '{inp}' is not a layer of this HN"));
            };
            indegree[i] += 1;
            users[p].push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..layers.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(layers.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.insert(u);
            }
        }
    }
    match (0..layers.len()).find(|&i| indegree[i] > 0) {
        Some(i) => fail(layers[i].name, "is part of a cycle of layer inputs"),
        None => Ok(order),
    }
}

fn location(names: &[&str]) -> Location {
    match names {
        [] => Location::Unknown,
        [one] => Location::name(one),
        many => Location::Fused(many.iter().map(|n| Location::name(n)).collect()),
    }
}

fn f32_tensor(shape: &[i64]) -> Type {
    Type::tensor(shape, Type::f32())
}

struct Rebuild<'a> {
    m: Module,
    block: BlockId,
    layers: &'a [Layer<'a>],
    index: HashMap<&'a str, usize>,
    npz: HashMap<&'a str, &'a NpyArray>,
    results: HashMap<usize, Vec<ValueId>>,
    /// Output edges of multi-result layers already matched to a consumer operand.
    consumed: HashMap<usize, Vec<bool>>,
}

impl Rebuild<'_> {
    /// A constant op for the NPZ array `npz_key` of `layer`, its bytes stored as `key`.
    /// NaN and infinite weights are refused here, naming the layer, rather than later
    /// (quantization statistics, emulation) without one.
    fn constant(
        &mut self,
        layer: &str,
        npz_key: &str,
        key: &str,
        array: &NpyArray,
    ) -> Result<ValueId, RebuildError> {
        if let Some(at) = array.to_f32().iter().position(|v| !v.is_finite()) {
            return fail(
                layer,
                format!(
                    "the NPZ array '{npz_key}' holds NaN or infinity at flat index {at}; the \
                     archive's weights are damaged"
                ),
            );
        }
        let shape: Vec<i64> = array.shape().iter().map(|&d| d as i64).collect();
        let ty = f32_tensor(&shape);
        self.m.resources.insert(key, f32_blob(array));
        let spec = OpSpec::new(Const::NAME).results(&[ty]).attr(
            "value",
            Attribute::DenseResource {
                key: Sym::new(key),
                ty,
            },
        );
        let op = self.m.create_op(spec);
        self.m.append_op(self.block, op);
        Ok(self.m.result(op, 0))
    }

    /// The value layer `consumer` reads from `producer`: for multi-result producers, the
    /// port of the next unmatched edge to `consumer` in the producer's `output` list.
    fn input_value(&mut self, consumer: &str, producer: usize) -> Result<ValueId, RebuildError> {
        let layers = self.layers;
        let p = &layers[producer];
        let port = match &p.ports {
            None => 0,
            Some(ports) => {
                let used = self
                    .consumed
                    .entry(producer)
                    .or_insert_with(|| vec![false; p.output.len()]);
                match (0..p.output.len()).find(|&j| p.output[j] == consumer && !used[j]) {
                    Some(j) => {
                        used[j] = true;
                        *ports.get(j).unwrap_or(&0)
                    }
                    None => {
                        return fail(
                            consumer,
                            format!("'{}' does not list it among its outputs", p.name),
                        )
                    }
                }
            }
        };
        match self.results.get(&producer).and_then(|r| r.get(port)) {
            Some(&v) => Ok(v),
            None => fail(
                consumer,
                format!(
                    "reads result {port} of '{}', which has no such result",
                    p.name
                ),
            ),
        }
    }

    fn result_types(
        &self,
        l: &Layer<'_>,
        op: &str,
        attrs: &[(&str, Attribute)],
    ) -> Result<Vec<Type>, RebuildError> {
        let Some(ports) = &l.ports else {
            return match l.output_shapes.first().or(l.input_shapes.first()) {
                Some(s) => Ok(vec![f32_tensor(s)]),
                None => fail(l.name, "has no 'output_shapes'"),
            };
        };
        let sizes = attrs
            .iter()
            .find(|a| a.0 == "sizes")
            .and_then(|a| a.1.as_i64_array());
        let axis = attrs
            .iter()
            .find(|a| a.0 == "axis")
            .and_then(|a| a.1.as_i64());
        let count = match (&sizes, op) {
            (Some(s), Split::NAME) => s.len(),
            _ => ports.iter().max().map_or(1, |p| p + 1),
        };
        (0..count)
            .map(|r| {
                if let Some(j) = ports.iter().position(|&p| p == r) {
                    if let Some(s) = l.output_shapes.get(j) {
                        return Ok(f32_tensor(s));
                    }
                }
                let (Some(sizes), Some(axis), Some(input)) = (&sizes, axis, l.input_shapes.first())
                else {
                    return fail(l.name, format!("the shape of result {r} is not recorded"));
                };
                let mut shape = input.clone();
                match (
                    usize::try_from(axis).ok().and_then(|a| shape.get_mut(a)),
                    sizes.get(r),
                ) {
                    (Some(d), Some(&n)) => *d = n,
                    _ => {
                        return fail(
                            l.name,
                            format!("split axis {axis} does not fit input shape {input:?}"),
                        )
                    }
                }
                Ok(f32_tensor(&shape))
            })
            .collect()
    }

    fn attrs(
        &self,
        l: &Layer<'_>,
        kind: &layers::LayerKind,
    ) -> Result<Vec<(&'static str, Attribute)>, RebuildError> {
        let mut out = Vec::new();
        let Some(params) = l.params else {
            return Ok(out);
        };
        for flag in ["elementwise_add", "batch_norm"] {
            if kind.weights.first() == Some(&"kernel")
                && params.get(flag) == Some(&Value::Bool(true))
            {
                return fail(l.name, format!("has '{flag}: true' (a fused {flag}), which hailo-rs cannot rebuild from an HN"));
            }
        }
        for &(name, form) in kind.attrs {
            let Some(v) = params.get(form.hn_name(name)) else {
                continue;
            };
            let v = match form {
                Form::Spatial | Form::SpatialAs(_) => layers::from_nhwc(v),
                Form::Same | Form::Renamed(_) => v.clone(),
            };
            let a = layers::json_to_attr(&v)
                .or_else(|e| fail(l.name, format!("param '{}': {e}", form.hn_name(name))))?;
            out.push((name, a));
        }
        Ok(out)
    }

    fn layer(&mut self, idx: usize, arg: Option<ValueId>) -> Result<(), RebuildError> {
        let layers = self.layers;
        let l = &layers[idx];
        if l.ty == layers::CONST_INPUT {
            let key = format!("{}/const:0", l.name);
            let Some(&array) = self.npz.get(key.as_str()) else {
                return fail(l.name, format!("the NPZ has no array '{key}'"));
            };
            let v = self.constant(l.name, &key, &format!("{}.const", l.short), array)?;
            self.results.insert(idx, vec![v]);
            return Ok(());
        }
        let Some((kind, reduce)) = layers::by_hn_type(l.ty) else {
            return fail(l.name, "unsupported type");
        };
        let mut operands = Vec::new();
        if let Some(a) = arg {
            operands.push(a);
        }
        for inp in &l.input {
            let p = self.index[inp];
            operands.push(self.input_value(l.name, p)?);
        }
        let mut missing: Option<&str> = None;
        for slot in kind.weights {
            let key = format!("{}/{slot}:0", l.name);
            match (self.npz.get(key.as_str()).copied(), missing) {
                (Some(_), Some(prev)) => {
                    return fail(
                        l.name,
                        format!("the NPZ has '{key}' but no '{prev}' before it"),
                    )
                }
                (Some(array), None) => operands.push(self.constant(
                    l.name,
                    &key,
                    &format!("{}.{slot}", l.short),
                    array,
                )?),
                (None, _) if !layers::optional_weight(kind, slot) => {
                    return fail(l.name, format!("the NPZ has no array '{key}'"));
                }
                (None, _) => missing = missing.or(Some(slot)),
            }
        }
        let mut attrs = vec![("layer", Attribute::str(l.short))];
        if let Some(k) = reduce {
            attrs.push(("kind", Attribute::str(k)));
        }
        attrs.extend(self.attrs(l, kind)?);
        let types = self.result_types(l, kind.op, &attrs)?;
        let mut spec = OpSpec::new(kind.op)
            .operands(&operands)
            .results(&types)
            .loc(location(&l.original_names));
        for (k, v) in attrs {
            spec = spec.attr(k, v);
        }
        let op = self.m.create_op(spec);
        self.m.append_op(self.block, op);
        self.results.insert(idx, self.m.op(op).results().to_vec());
        Ok(())
    }
}

/// Rebuilds the `hl` module an HN describes, weights from `npz`.
pub(crate) fn rebuild(hn: &HnDoc, npz: &[(String, NpyArray)]) -> Result<Module, RebuildError> {
    let net = hn.name.as_str();
    let layers: Vec<Layer<'_>> = hn
        .layers
        .0
        .iter()
        .map(|(k, v)| parse_layer(net, k, v))
        .collect::<Result<_, _>>()?;
    let unsupported: Vec<(String, String)> = layers
        .iter()
        .filter(|l| l.ty != layers::CONST_INPUT && layers::by_hn_type(l.ty).is_none())
        .map(|l| (l.name.to_string(), l.ty.to_string()))
        .collect();
    if !unsupported.is_empty() {
        return Err(RebuildError::Unsupported(unsupported));
    }
    let index: HashMap<&str, usize> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name, i))
        .collect();
    let order = topo_order(&layers, &index)?;
    let order_list = |key: &str| -> Vec<usize> {
        let names = hn
            .net_params
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        names
            .iter()
            .filter_map(|n| n.as_str().and_then(|n| index.get(n)).copied())
            .collect()
    };
    // Graph inputs: the recorded order, then any input layer it does not mention.
    let mut inputs = order_list("input_layers_order");
    inputs.retain(|&i| layers[i].ty == "input_layer");
    for (i, l) in layers.iter().enumerate() {
        if l.ty == "input_layer" && !inputs.contains(&i) {
            inputs.push(i);
        }
    }
    let output_order = order_list("output_layers_order");
    let mut arg_types = Vec::new();
    for &i in &inputs {
        match layers[i]
            .output_shapes
            .first()
            .or(layers[i].input_shapes.first())
        {
            Some(s) => arg_types.push(f32_tensor(s)),
            None => return fail(layers[i].name, "input layer has no shape"),
        }
    }
    let mut m = Module::new(Some(net));
    let body = m.body();
    let (graph, block) = hailo_ir::builtin::create_graph(&mut m, body, "main", &arg_types, &[]);
    let args = m.block(block).args().to_vec();
    let npz_map = npz.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut r = Rebuild {
        m,
        block,
        layers: &layers,
        index,
        npz: npz_map,
        results: HashMap::new(),
        consumed: HashMap::new(),
    };
    for &i in &order {
        let arg = inputs.iter().position(|&x| x == i).map(|p| args[p]);
        r.layer(i, arg)?;
    }
    // Graph outputs: output layers fed by `output_layers_order`, in that order, then the rest.
    let mut outputs: Vec<usize> = Vec::new();
    for fed in output_order {
        let found = (0..layers.len()).find(|&i| {
            layers[i].ty == "output_layer"
                && !outputs.contains(&i)
                && (i == fed || layers[i].input.first() == Some(&layers[fed].name))
        });
        outputs.extend(found);
    }
    for (i, l) in layers.iter().enumerate() {
        if l.ty == "output_layer" && !outputs.contains(&i) {
            outputs.push(i);
        }
    }
    let values: Vec<ValueId> = outputs
        .iter()
        .filter_map(|i| r.results.get(i).and_then(|v| v.first().copied()))
        .collect();
    let result_types: Vec<Type> = values.iter().map(|&v| r.m.value_type(v)).collect();
    let ret =
        r.m.create_op(OpSpec::new(hailo_ir::builtin::RETURN).operands(&values));
    r.m.append_op(block, ret);
    r.m.set_attr(
        graph,
        "function_type",
        Attribute::Type(Type::function(arg_types, result_types)),
    );
    Ok(r.m)
}

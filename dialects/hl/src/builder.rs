//! Building an `hl` graph, shared by every frontend so the same network gives the same IR
//! whichever framework it came from: one `builtin.module @net` holding `builtin.graph @main`,
//! layers named by [`LayerNamer`] with the original node names as locations, constants as
//! `<layer>.<param>` blobs (`dense_resource`) or inline `dense`, input/output layers carrying
//! the original tensor names, and the rendering of "unsupported nodes" reports with the cuts
//! that avoid them.

use std::fmt;

use hailo_ir::{
    builtin, Attribute, Blob, BlockId, DenseValues, Location, Module, OpId, OpSpec, Sym, Type,
    ValueId,
};

use crate::naming::LayerNamer;

/// Constants this small are printed inline (`dense<...>`) unless they are layer weights.
const INLINE_LIMIT: usize = 16;

/// The location of a layer made from `nodes` (one name, or `fused[...]`).
pub fn location(nodes: &[&str]) -> Location {
    match nodes {
        [one] => Location::name(one),
        many => Location::Fused(many.iter().map(|n| Location::name(n)).collect()),
    }
}

/// A tensor type with `f32` elements.
pub fn f32_tensor(shape: &[usize]) -> Type {
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Type::tensor(&dims, Type::f32())
}

/// An `i64` array attribute from `usize`s.
pub fn ints(v: &[usize]) -> Attribute {
    let v: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    Attribute::i64_array(&v)
}

/// `raw` usable as a network symbol and file stem: anything but `[A-Za-z0-9_]` becomes `_`;
/// empty gives `net`.
pub fn symbol_name(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "net".to_string()
    } else {
        clean
    }
}

/// A module with one `builtin.graph @main` under construction.
pub struct GraphBuilder {
    m: Module,
    graph: OpId,
    block: BlockId,
    inputs: Vec<Type>,
    namer: LayerNamer,
}

impl GraphBuilder {
    /// `builtin.module @net` with an empty `@main` taking `inputs`; also returns the graph's
    /// block arguments, one per input.
    pub fn new(net: &str, inputs: Vec<Type>) -> (GraphBuilder, Vec<ValueId>) {
        let mut m = Module::new(Some(net));
        let body = m.body();
        let (graph, block) = builtin::create_graph(&mut m, body, "main", &inputs, &[]);
        let args = m.block(block).args().to_vec();
        let b = GraphBuilder {
            m,
            graph,
            block,
            inputs,
            namer: LayerNamer::new(),
        };
        (b, args)
    }

    /// The module built so far.
    pub fn module(&self) -> &Module {
        &self.m
    }

    /// The type of value `v`.
    pub fn value_type(&self, v: ValueId) -> Type {
        self.m.value_type(v)
    }

    /// The next Hailo layer name with `prefix` (`conv1`, `conv2`, ...).
    pub fn next_name(&mut self, prefix: &str) -> String {
        self.namer.next(prefix)
    }

    /// Appends an op to the graph body; returns its results.
    pub fn append(&mut self, spec: OpSpec) -> Vec<ValueId> {
        let op = self.m.create_op(spec);
        self.m.append_op(self.block, op);
        self.m.op(op).results().to_vec()
    }

    /// Appends a layer op named `layer` with `f32` results of the given shapes, located at
    /// the nodes `loc` it came from.
    pub fn layer(
        &mut self,
        op: &str,
        layer: &str,
        operands: &[ValueId],
        results: &[Vec<usize>],
        attrs: Vec<(&str, Attribute)>,
        loc: &[&str],
    ) -> Vec<ValueId> {
        let types: Vec<Type> = results.iter().map(|s| f32_tensor(s)).collect();
        let mut spec = OpSpec::new(op)
            .operands(operands)
            .results(&types)
            .attr("layer", Attribute::str(layer))
            .loc(location(loc));
        for (k, v) in attrs {
            spec = spec.attr(k, v);
        }
        self.append(spec)
    }

    /// A constant operand `<layer>.<param>` of shape `shape`: weights (`force_resource`) and
    /// large constants go to the blob store as `dense_resource`, small ones are inline `dense`.
    pub fn constant(
        &mut self,
        layer: &str,
        param: &str,
        shape: &[usize],
        values: &[f32],
        force_resource: bool,
        loc: &[&str],
    ) -> ValueId {
        let ty = f32_tensor(shape);
        let value = if force_resource || values.len() > INLINE_LIMIT {
            let key = format!("{layer}.{param}");
            self.m.resources.insert(&key, Blob::from_f32(values));
            Attribute::DenseResource {
                key: Sym::new(&key),
                ty,
            }
        } else {
            Attribute::dense(
                ty,
                DenseValues::Floats(values.iter().map(|&v| f64::from(v)).collect()),
            )
        };
        let spec = OpSpec::new("hl.const")
            .results(&[ty])
            .attr("value", value)
            .loc(location(loc));
        self.append(spec)[0]
    }

    /// An `hl.input_layer` or `hl.output_layer` (`op`, names from `prefix`) for the original
    /// tensor `original_name`, reading `x`. Returns the layer name and its result.
    pub fn io_layer(
        &mut self,
        op: &str,
        prefix: &str,
        original_name: &str,
        x: ValueId,
    ) -> (String, ValueId) {
        let layer = self.next_name(prefix);
        let ty = self.m.value_type(x);
        let spec = OpSpec::new(op)
            .operands(&[x])
            .results(&[ty])
            .attr("layer", Attribute::str(&layer))
            .attr("original_name", Attribute::str(original_name))
            .loc(location(&[original_name]));
        (layer, self.append(spec)[0])
    }

    /// Ends `@main` returning `results` (the output layers) and gives the module.
    pub fn finish(mut self, results: &[ValueId]) -> Module {
        let out_types: Vec<Type> = results.iter().map(|&v| self.m.value_type(v)).collect();
        let ret = self
            .m
            .create_op(OpSpec::new(builtin::RETURN).operands(results));
        self.m.append_op(self.block, ret);
        self.m.set_attr(
            self.graph,
            "function_type",
            Attribute::Type(Type::function(self.inputs, out_types)),
        );
        self.m
    }
}

/// Writes an "unsupported nodes" report: a header counting `nodes` (`what` names them, e.g.
/// `node(s)`), one indented line per node, then the `--end-node-names` / `--start-node-names`
/// cuts that keep the part before / after them (each only when there is one).
pub fn write_unsupported<N: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    nodes: &[N],
    end_nodes: &[String],
    start_nodes: &[String],
) -> fmt::Result {
    writeln!(f, "{} unsupported {what} in the model:", nodes.len())?;
    for n in nodes {
        writeln!(f, "  {n}")?;
    }
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !end_nodes.is_empty() {
        writeln!(
            f,
            "to parse the part before them, use --end-node-names {}",
            quote(end_nodes)
        )?;
    }
    if !start_nodes.is_empty() {
        writeln!(
            f,
            "to parse the part after them, use --start-node-names {}",
            quote(start_nodes)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use hailo_ir::{print_module, Context, PrintOptions};

    use super::{f32_tensor, symbol_name, write_unsupported, GraphBuilder};
    use crate::Activation;

    #[test]
    fn symbol_names() {
        assert_eq!(symbol_name("yolo-v5.s"), "yolo_v5_s");
        assert_eq!(symbol_name(""), "net");
    }

    #[test]
    fn builds_named_layers_constants_and_io() {
        let (mut b, args) = GraphBuilder::new("net", vec![f32_tensor(&[1, 4])]);
        let (input, x) = b.io_layer("hl.input_layer", "input_layer", "in:0", args[0]);
        let layer = b.next_name("ew_add");
        let small = b.constant(&layer, "b", &[1, 4], &[1.0, 2.0, 3.0, 4.0], false, &["add"]);
        let y = b.layer(
            "hl.ew_add",
            &layer,
            &[x, small],
            &[vec![1, 4]],
            Activation::Linear.layer_attrs(),
            &["add", "relu"],
        )[0];
        let (output, z) = b.io_layer("hl.output_layer", "output_layer", "out", y);
        let w = b.next_name("ew_add");
        b.constant(&w, "b", &[1, 4], &[0.0; 4], true, &["w"]);
        assert_eq!(
            (input.as_str(), layer.as_str()),
            ("input_layer1", "ew_add1")
        );
        assert_eq!((output.as_str(), w.as_str()), ("output_layer1", "ew_add2"));
        assert_eq!(b.value_type(z), f32_tensor(&[1, 4]));
        let m = b.finish(&[z]);
        assert!(m.resources.get("ew_add2.b").is_some());
        assert!(m.resources.get("ew_add1.b").is_none());
        let mut ctx = Context::new();
        ctx.register(crate::dialect());
        let text = print_module(&m, &ctx, PrintOptions::default());
        let want = r#"builtin.module @net {
  builtin.graph @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
    %0 = hl.input_layer %arg0 {layer = "input_layer1", original_name = "in:0"} : tensor<1x4xf32> loc("in:0")
    %1 = hl.const dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32> loc("add")
    %2 = hl.ew_add %0, %1 {activation = "linear", layer = "ew_add1"} : tensor<1x4xf32> loc(fused["add", "relu"])
    %3 = hl.output_layer %2 {layer = "output_layer1", original_name = "out"} : tensor<1x4xf32> loc("out")
    %4 = hl.const dense_resource<ew_add2.b> : tensor<1x4xf32> loc("w")
    builtin.return %3 : tensor<1x4xf32>
  }
}
"#;
        assert!(text.starts_with(want), "got\n{text}");
    }

    struct Report(Vec<&'static str>, Vec<String>, Vec<String>);

    impl fmt::Display for Report {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_unsupported(f, "node(s)", &self.0, &self.1, &self.2)
        }
    }

    #[test]
    fn unsupported_report_lists_nodes_and_cuts() {
        let r = Report(
            vec!["'a' (Sin)", "'b' (Cos)"],
            vec!["x".into(), "y".into()],
            vec![],
        );
        assert_eq!(
            r.to_string(),
            "2 unsupported node(s) in the model:\n  'a' (Sin)\n  'b' (Cos)\n\
             to parse the part before them, use --end-node-names 'x' 'y'\n"
        );
        let r = Report(vec!["'a' (Sin)"], vec![], vec!["z".into()]);
        assert_eq!(
            r.to_string(),
            "1 unsupported node(s) in the model:\n  'a' (Sin)\n\
             to parse the part after them, use --start-node-names 'z'\n"
        );
    }
}

//! `phys-output-mux`: sends several graph outputs to the host over one stream, as the model
//! script's `m = output_mux([a, b, ...])` asks (DFC guide §5.4.2: "the outputs of the given
//! layers will be multiplexed into a single tensor before sending them back from the device to
//! the host"; they need not share shape or scale).
//!
//! Each entry becomes one `phys.output_mux` reading the named layers' results; its results are
//! those maps again, in order, as the host splits the stream, and the graph's outputs
//! (`q.dequantize`) read them. The mux goes after the last of its inputs, and the outputs it
//! feeds after it. A named layer must be a physical layer whose result only leaves the graph,
//! else it is an error naming it.
//!
//! Option `muxes`: `a+b+...[:name]`, default name `output_mux_<a>_<b>...`.

use hailo_dialect_phys::ops as phys;
use hailo_dialect_phys::resource_model;
use hailo_dialect_quant::ops as q;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec};

hailo_ir::pass_options! {
    pub struct PhysOutputMuxOptions {
        /// Muxes, `a+b+...[:name]` (model script `name = output_mux([a, b, ...])`).
        muxes: Vec<String> = Vec::new(),
    }
}

pub struct PhysOutputMux(PhysOutputMuxOptions);

impl PassDef for PhysOutputMux {
    const NAME: &'static str = "phys-output-mux";
    const SUMMARY: &'static str = "Send named graph outputs to the host over one stream";
    const DESCRIPTION: &'static str = "The model script's output_mux commands (option `muxes`).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysOutputMuxOptions;

    fn new(o: PhysOutputMuxOptions) -> Self {
        PhysOutputMux(o)
    }
    fn options(&self) -> &PhysOutputMuxOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        for text in &self.0.muxes {
            mux(m, graph, text).map_err(|(at, e)| cx.fail_at(m, at.unwrap_or(graph), e))?;
        }
        cx.stat("muxes", "output muxes added", self.0.muxes.len() as u64);
        Ok(if self.0.muxes.is_empty() {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

type Res<T> = Result<T, (Option<OpId>, String)>;

fn mux(m: &mut Module, graph: OpId, text: &str) -> Res<()> {
    let bad = || {
        (
            None,
            format!("'muxes' entry '{text}' must be a+b+...[:name] with at least two layers"),
        )
    };
    let (layers, name) = match text.split_once(':') {
        Some((l, n)) if !n.is_empty() => (l, n.to_owned()),
        Some(_) => return Err(bad()),
        None => (text, format!("output_mux_{}", text.replace('+', "_"))),
    };
    let layers: Vec<&str> = layers.split('+').collect();
    if layers.len() < 2 || layers.iter().any(|l| l.is_empty()) {
        return Err(bad());
    }
    let block = m.region(m.op(graph).regions()[0]).blocks()[0];
    let ops = m.block_ops(block);
    let mut inputs = Vec::new();
    for l in &layers {
        let op = ops
            .iter()
            .copied()
            .find(|&o| {
                resource_model(m, o).is_some()
                    && m.attr(o, "layer").and_then(Attribute::as_str) == Some(l)
            })
            .ok_or_else(|| {
                (
                    None,
                    format!("'{name}' names '{l}', which is no physical layer of this graph"),
                )
            })?;
        let v = m.result(op, 0);
        let uses = m.value(v).uses();
        if uses.is_empty() || uses.iter().any(|u| q::Dequantize::cast(m, u.op).is_none()) {
            return Err((
                Some(op),
                format!("'{name}': layer '{l}' is no graph output (only outputs are multiplexed)"),
            ));
        }
        inputs.push(v);
    }
    let types: Vec<_> = inputs.iter().map(|&v| m.value_type(v)).collect();
    let new = m.create_op(
        OpSpec::new(phys::OutputMux::NAME)
            .operands(&inputs)
            .results(&types)
            .loc(m.op(graph).loc.clone())
            .attr("layer", Attribute::str(&name)),
    );
    // After the last input: before the op that follows it, and the outputs after the mux.
    let position = |o: OpId| ops.iter().position(|&x| x == o).unwrap_or(0);
    let last = inputs
        .iter()
        .filter_map(|&v| m.defining_op(v))
        .max_by_key(|&o| position(o))
        .expect("inputs are layer results");
    m.insert_before(ops[position(last) + 1], new);
    let mut outputs = Vec::new();
    for (i, &v) in inputs.iter().enumerate() {
        for u in m.value(v).uses().to_vec() {
            if u.op != new {
                m.set_operand(u.op, u.index as usize, m.result(new, i));
                outputs.push(u.op);
            }
        }
    }
    let after: Vec<OpId> = m.block_ops(block);
    let from = after
        .iter()
        .position(|&o| o == new)
        .expect("the mux is in the block");
    let anchor = after[from + 1..]
        .iter()
        .copied()
        .find(|o| !outputs.contains(o))
        .expect("the terminator follows");
    for out in outputs {
        m.detach(out);
        m.insert_before(anchor, out);
    }
    Ok(())
}

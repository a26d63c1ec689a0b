//! `phys-buffers`: puts a `phys.buffer` on every feature-map edge into a physical layer or a
//! graph output (`q.dequantize`: the map streams to the host, `buffers(softmax1,
//! output_layer1, 2)` in the dumps), with the rows of the producer's output the edge must hold.
//!
//! Layers stream rows to each other through buffers in cluster memory; how deep each one is
//! decides memory use and whether reconverging paths stall. The rows (resources doc §6, [I]):
//!
//! - **Minimum**: a consumer with a window of effective height `k = d·(kh − 1) + 1` and row stride
//!   `s` needs `k + s` rows (the window plus the next stride, for double buffering); a layer with
//!   no window (1×1, elementwise, concat, splitter) needs `1 + 1 = 2`, the dumps' most common
//!   depth.
//! - **Latency balancing**: each layer's first output comes `Σ rows / height` frames after the
//!   input along its slowest input path. Where paths reconverge (an add, a concat, a conv with a
//!   fused add), the edges on the faster paths hold the difference too:
//!   `rows_i = ceil((latest − latency(u_i)) × height(u_i))`, so no producer waits for the other.
//! - **Cross-cluster edges** (both ends placed, `cluster` attributes, on different clusters) get
//!   the second size of `buffers(src, dst, n1, n2)`: `rows` before the transition, and the
//!   consumer's minimum after it (`rows_after`).
//! - **Manual** (option `edges`, the model script's `buffers(src, dst, n1[, n2])`): `src:dst:n1[:n2]`
//!   sets an edge's rows, over the rules above.
//!
//! NHWC edges hold rows of the map; a rank-2 edge (a dense layer's output `[N, C]`) holds rows
//! of one row per frame, as the dumps' `buffers(fc1_d0, fc1_dc, 64)` do. Edges that already
//! have a buffer are left as they are.
//!
//! **Automatic DDR portals** (`automatic-ddr`, the guide's `allocator_param(automatic_ddr)`,
//! on by default: "DDR portals are added when the data needed to be buffered on some network
//! edge exceeds a threshold"): an edge from a layer that would need more rows than a buffer
//! holds (255) goes through a DDR portal `ddr_portal_from_<src>_to_<dst>`, as the vendor's are named, which holds
//! the wait in host memory; the edges into and out of it get their minimum rows (the dumps' edges
//! out of DDR portals are deeper, e.g. stdc1's 203 rows into `concat7`, which this does not
//! model). With `automatic-ddr=false`, and from a graph input (already in host memory), such an
//! edge is an error naming it (carry it through a portal of the model script: `portal`,
//! `l4_portal`, `ddr`).

use hailo_dialect_phys::ops::{self as phys, LayerParams};
use hailo_dialect_phys::{resource_model, PortalMemory};
use hailo_dialect_quant::ops as q;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec, ValueId};
use hailo_target::Target;
use std::collections::BTreeMap;

hailo_ir::pass_options! {
    pub struct PhysBuffersOptions {
        /// Manual rows, `src:dst:n1[:n2]` (model script `buffers(src, dst, n1[, n2])`).
        edges: Vec<String> = Vec::new(),
        /// Balance the latency of reconverging paths.
        balance: bool = true,
        /// Carry an edge that needs more rows than a buffer holds through a DDR portal.
        automatic_ddr: bool = true,
    }
}

pub struct PhysBuffers(PhysBuffersOptions);

impl PassDef for PhysBuffers {
    const NAME: &'static str = "phys-buffers";
    const SUMMARY: &'static str =
        "Buffer every feature-map edge into a physical layer with the rows it must hold";
    const DESCRIPTION: &'static str = "Rows: the consumer's window height plus its stride, plus \
        latency balancing on reconverging paths; a second size on cross-cluster edges; manual \
        rows from `edges` (the model script's buffers commands).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysBuffersOptions;

    fn new(o: PhysBuffersOptions) -> Self {
        PhysBuffers(o)
    }
    fn options(&self) -> &PhysBuffersOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let max_rows = cx
            .resource::<Target>()
            .map_or(hailo_target::HAILO8_LAYER_LIMITS.max_buffer_rows, |t| {
                t.limits.max_buffer_rows
            });
        let mut manual = BTreeMap::new();
        for text in &self.0.edges {
            let (edge, rows) = parse_edge(text).map_err(|e| cx.fail_at(m, graph, e))?;
            manual.insert(edge, (rows, false));
        }
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        // Latency of each value, in frames after the input.
        let mut latency: BTreeMap<ValueId, f64> = BTreeMap::new();
        let mut added = 0;
        for op in m.block_ops(block) {
            let consumer = resource_model(m, op).is_some() || q::Dequantize::cast(m, op).is_some();
            if !consumer || phys::Buffer::cast(m, op).is_some() {
                continue;
            }
            let edges = input_edges(m, op);
            if edges.is_empty() {
                continue;
            }
            let min = minimum_rows(m, op).map_err(|e| cx.fail_at(m, op, e))?;
            let consumer = name_of(m, op);
            // (operand index, producer value, rows, arrival)
            let mut plan = Vec::new();
            for (i, v) in edges {
                let (value, existing) = match buffered(m, v) {
                    Some((src, rows)) => (src, Some(rows)),
                    None => (v, None),
                };
                let Some(h) = height(m, value) else { continue };
                let producer = m.defining_op(value).map(|p| name_of(m, p));
                let key = (producer.clone().unwrap_or_default(), consumer.clone());
                let fixed = existing.or_else(|| {
                    manual.get_mut(&key).map(|(r, used)| {
                        *used = true;
                        r.0
                    })
                });
                let rows = fixed.unwrap_or(min);
                let start = latency.get(&value).copied().unwrap_or(0.0);
                plan.push((
                    i,
                    value,
                    rows,
                    start,
                    h,
                    fixed.is_some(),
                    existing.is_some(),
                ));
            }
            let arrival =
                |&(_, _, rows, start, h, ..): &(usize, ValueId, i64, f64, i64, bool, bool)| {
                    start + rows as f64 / h as f64
                };
            let latest = plan.iter().map(arrival).fold(0.0, f64::max);
            for entry in &mut plan {
                let (_, _, rows, start, h, fixed, _) = *entry;
                if self.0.balance && !fixed {
                    // The rows that cover the wait for the slowest input, in this input's rows.
                    let needed = ((latest - start) * h as f64 - 1e-9).ceil() as i64;
                    entry.2 = rows.max(needed);
                }
            }
            for (i, value, rows, _, _, _, existing) in plan {
                if existing {
                    continue;
                }
                let producer = m.defining_op(value);
                let src = producer.map_or_else(|| "the graph input".into(), |p| name_of(m, p));
                let (value, rows) = if rows <= i64::from(max_rows) {
                    (value, rows)
                } else if self.0.automatic_ddr && producer.is_some() {
                    let portal = ddr_portal(m, value, op, &src, &consumer);
                    added += 1;
                    (m.result(portal, 0), min)
                } else {
                    let msg = format!(
                        "the edge from {src} to {consumer} needs {rows} rows; a buffer holds at most {max_rows} (carry it through a portal)"
                    );
                    return Err(cx.fail_at(m, op, msg));
                };
                let manual_after = manual
                    .get(&(src.clone(), consumer.clone()))
                    .and_then(|((_, after), _)| *after);
                let cross = producer.is_some_and(|p| crosses(m, p, op));
                let after = manual_after.or(cross.then_some(min));
                let buffer = buffer(m, value, op, rows, after);
                m.set_operand(op, i, m.result(buffer, 0));
                added += 1;
            }
            let out = m.op(op).results().to_vec();
            for r in out {
                latency.insert(r, latest);
            }
        }
        if let Some(((src, dst), _)) = manual.iter().find(|(_, (_, used))| !used) {
            let msg =
                format!("'edges' names {src} -> {dst}, which is no buffered edge of this graph");
            return Err(cx.fail_at(m, graph, msg));
        }
        cx.stat("buffers", "edge buffers added", added);
        Ok(if added == 0 {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

type Res<T> = Result<T, String>;

/// A buffer of `rows` (and `after` rows after a cluster transition) on `value`, before `at`.
fn buffer(m: &mut Module, value: ValueId, at: OpId, rows: i64, after: Option<i64>) -> OpId {
    let mut spec = OpSpec::new(phys::Buffer::NAME)
        .operands(&[value])
        .results(&[m.value_type(value)])
        .loc(m.op(at).loc.clone())
        .attr("rows", Attribute::i64(rows));
    if let Some(after) = after {
        spec = spec.attr("rows_after", Attribute::i64(after));
    }
    let op = m.create_op(spec);
    m.insert_before(at, op);
    op
}

/// A DDR portal from `value` (buffered by its 2 minimum rows) for `consumer`, before `at`.
fn ddr_portal(m: &mut Module, value: ValueId, at: OpId, src: &str, consumer: &str) -> OpId {
    let into = buffer(m, value, at, 2, None);
    let spec = OpSpec::new(phys::Portal::NAME)
        .operands(&[m.result(into, 0)])
        .results(&[m.value_type(value)])
        .loc(m.op(at).loc.clone())
        .attr(
            "layer",
            Attribute::str(&format!("ddr_portal_from_{src}_to_{consumer}")),
        )
        .attr("memory", Attribute::str(PortalMemory::Ddr.name()));
    let portal = m.create_op(spec);
    m.insert_before(at, portal);
    portal
}

/// Rows before and (cross-cluster) after the transition.
type Rows = (i64, Option<i64>);

fn parse_edge(text: &str) -> Res<((String, String), Rows)> {
    let bad = || format!("'edges' entry '{text}' must be src:dst:rows[:rows_after] with rows >= 1");
    let f: Vec<&str> = text.split(':').collect();
    let num = |s: &str| s.parse::<i64>().ok().filter(|&r| r >= 1);
    match f[..] {
        [src, dst, n1] if !src.is_empty() && !dst.is_empty() => {
            Ok(((src.into(), dst.into()), (num(n1).ok_or_else(bad)?, None)))
        }
        [src, dst, n1, n2] if !src.is_empty() && !dst.is_empty() => Ok((
            (src.into(), dst.into()),
            (num(n1).ok_or_else(bad)?, Some(num(n2).ok_or_else(bad)?)),
        )),
        _ => Err(bad()),
    }
}

fn name_of(m: &Module, op: OpId) -> String {
    m.attr(op, "layer")
        .and_then(Attribute::as_str)
        .map_or_else(|| m.op(op).name_str().to_owned(), str::to_owned)
}

/// The feature-map operands of a physical op (a layer's kernel and bias are no edges).
fn input_edges(m: &Module, op: OpId) -> Vec<(usize, ValueId)> {
    let operands = m.op(op).operands();
    let n = match LayerParams::of(m, op) {
        Ok(p) if phys::Layer::cast(m, op).is_some() => p.inputs,
        _ => operands.len(),
    };
    operands.iter().copied().enumerate().take(n).collect()
}

/// The buffered value and rows when `v` is already a buffer's result.
fn buffered(m: &Module, v: ValueId) -> Option<(ValueId, i64)> {
    let op = m.defining_op(v)?;
    phys::Buffer::cast(m, op)?;
    let rows = m.attr(op, "rows").and_then(Attribute::as_i64)?;
    Some((m.op(op).operands()[0], rows))
}

/// The rows of an NHWC value, 1 for a dense output `[N, C]`; `None` for other ranks.
fn height(m: &Module, v: ValueId) -> Option<i64> {
    match m.value_type(v).shape()? {
        [_, h, _, _] if *h > 0 => Some(*h),
        [_, _] => Some(1),
        _ => None,
    }
}

/// The window's effective height plus its row stride (1 + 1 without a window).
fn minimum_rows(m: &Module, op: OpId) -> Res<i64> {
    if phys::Layer::cast(m, op).is_none() {
        return Ok(2);
    }
    let p = LayerParams::of(m, op)?;
    Ok(p.dilations[0] * (p.kernel[0] - 1) + 1 + p.strides[0])
}

/// Both ends are placed, on different clusters.
fn crosses(m: &Module, a: OpId, b: OpId) -> bool {
    let cluster = |op| m.attr(op, "cluster").and_then(Attribute::as_i64);
    matches!((cluster(a), cluster(b)), (Some(x), Some(y)) if x != y)
}

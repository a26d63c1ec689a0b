//! `hl-global-avgpool-reduction`: the guide's `pre_quantization_optimization(global_avgpool_reduction,
//! layers=..., division_factors=[fh, fw])`. A global average pool over `[N, H, W, C]` becomes an
//! `hl.avgpool` with kernel and stride `[H / fh, W / fw]` followed by the global pool, which
//! now averages `fh × fw` values: the same mean (the tiles are equal and cover the map), with
//! a smaller spatial reduction per layer. The new pool is `reducing_<layer>`, as the vendor
//! names it. Factors `[1, 1]` leave the layer as it is (the guide's way to disable it); factors
//! must divide the map so the tiles cover it exactly.
//!
//! `hl-global-avgpool-reduction{layers=[avgpool1:4:4]}`.

use super::{build, fail_at, find_layer, graphs, place_before, shape_of, Res};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec, Type};

hailo_ir::pass_options! {
    pub struct GlobalAvgpoolReductionOptions {
        /// Global average pools to reduce, `layer:fh:fw` (the division factors of H and W).
        layers: Vec<String> = Vec::new(),
    }
}

pub struct GlobalAvgpoolReduction(GlobalAvgpoolReductionOptions);

impl PassDef for GlobalAvgpoolReduction {
    const NAME: &'static str = "hl-global-avgpool-reduction";
    const SUMMARY: &'static str =
        "Split a global average pool into a tiled average pool and a smaller global pool";
    const ANCHOR: Option<&'static str> = None;
    type Options = GlobalAvgpoolReductionOptions;

    fn new(o: GlobalAvgpoolReductionOptions) -> Self {
        GlobalAvgpoolReduction(o)
    }
    fn options(&self) -> &GlobalAvgpoolReductionOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut changed = false;
        for g in graphs(m, root) {
            for entry in &self.0.layers {
                match reduce(cx.ctx, m, g, entry) {
                    Ok(c) => changed |= c,
                    Err(e) => return Err(fail_at(cx, m, g, Self::NAME, e)),
                }
            }
        }
        Ok(if changed {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// `layer:fh:fw`.
fn parse(entry: &str) -> Res<(&str, [i64; 2])> {
    let mut parts = entry.split(':');
    let (Some(layer), Some(fh), Some(fw), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("'layers' entry '{entry}' is not layer:fh:fw"));
    };
    let factor = |f: &str| {
        f.parse::<i64>().ok().filter(|&f| f > 0).ok_or_else(|| {
            format!("'layers' entry '{entry}': division factors must be positive integers")
        })
    };
    Ok((layer, [factor(fh)?, factor(fw)?]))
}

/// Reduces the global average pool of `entry`; whether the graph changed.
fn reduce(ctx: &Context, m: &mut Module, g: OpId, entry: &str) -> Res<bool> {
    let (layer, [fh, fw]) = parse(entry)?;
    let Some(pool) = find_layer(m, g, layer) else {
        return Err(format!("no layer named '{layer}'"));
    };
    if hl::GlobalAvgPool::cast(m, pool).is_none() {
        return Err(format!(
            "layer '{layer}' is a {}, not a global average pool",
            m.op(pool).name_str()
        ));
    }
    if (fh, fw) == (1, 1) {
        return Ok(false);
    }
    let x = m.operand(pool, 0);
    let shape = shape_of(m, x);
    let [n, h, w, c] = shape[..] else {
        return Err(format!(
            "layer '{layer}' needs an NHWC input, got {shape:?}"
        ));
    };
    if h % fh != 0 || w % fw != 0 {
        return Err(format!(
            "layer '{layer}': division factors [{fh}, {fw}] must divide its input map {h}x{w}"
        ));
    }
    let kernel = [h / fh, w / fw];
    // The vendor's name (`reducing_avgpool7` in the stdc1 allocation dump), unless taken.
    let name = match format!("reducing_{layer}") {
        n if find_layer(m, g, &n).is_none() => n,
        _ => super::fresh_layer(m, g, "avgpool"),
    };
    let spec = OpSpec::new(hl::AvgPool::NAME)
        .operands(&[x])
        .attr("layer", Attribute::str(&name))
        .attr("kernel", Attribute::i64_array(&kernel))
        .attr("strides", Attribute::i64_array(&kernel))
        .attr("padding", Attribute::str("VALID"))
        .loc(m.op(pool).loc.clone());
    let ty = Type::tensor(&[n, fh, fw, c], m.value_type(x).element());
    let op = build(ctx, m, spec, ty)?;
    place_before(m, pool, op);
    let r = m.result(op, 0);
    m.set_operand(pool, 0, r);
    Ok(true)
}

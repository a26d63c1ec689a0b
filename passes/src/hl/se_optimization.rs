//! `hl-se-optimization`: the guide's `pre_quantization_optimization(se_optimization,
//! method=tse, ...)`, tiled squeeze-and-excite (Vosco et al. 2021; quantization.md §8). A
//! squeeze-and-excite block is a global average pool of `x [N, H, W, C]`, a chain of 1×1
//! convolutions and activations on the `[N, 1, 1, *]` descriptor, and an `hl.ew_mult` of `x`
//! by the resulting gate. TSE averages horizontal stripes of `tile_height` rows instead (an
//! `hl.avgpool` with kernel and stride `[tile_height, W]`, keeping the pool's layer name),
//! runs the same chain on every stripe's descriptor, and scales each stripe by its own gate
//! (an `hl.resize` nearest back to `[H, W]`), so no output depends on rows outside its stripe
//! and the buffering drops from the whole map to one stripe. `tile_height = H` is plain SE.
//!
//! `hl-se-optimization{mode=sequential count=3 tile-height=[9,7,5]}`,
//! `hl-se-optimization{mode=custom layers=[avgpool1,avgpool2] tile-height=[7]}`.

use super::{build, fail_at, fresh_layer, graphs, layer_name, place_before, shape_of, Res};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec, Type, ValueId};

hailo_ir::pass_options! {
    pub struct SeOptimizationOptions {
        /// sequential (the first `count` blocks), custom (the blocks of `layers`) or disabled.
        mode: String = "disabled".to_owned(),
        /// Blocks to tile in sequential mode.
        count: i64 = 0,
        /// The global average pools that start the blocks to tile, in custom mode.
        layers: Vec<String> = Vec::new(),
        /// Stripe height: one for every block, or one per block.
        tile_height: Vec<i64> = vec![7],
    }
}

pub struct SeOptimization(SeOptimizationOptions);

impl PassDef for SeOptimization {
    const NAME: &'static str = "hl-se-optimization";
    const SUMMARY: &'static str =
        "Tiled squeeze-and-excite: gate horizontal stripes instead of the whole map";
    const ANCHOR: Option<&'static str> = None;
    type Options = SeOptimizationOptions;

    fn new(o: SeOptimizationOptions) -> Self {
        SeOptimization(o)
    }
    fn options(&self) -> &SeOptimizationOptions {
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
            match apply(cx.ctx, m, g, &self.0) {
                Ok(c) => changed |= c,
                Err(e) => return Err(fail_at(cx, m, g, Self::NAME, e)),
            }
        }
        Ok(if changed {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

/// A squeeze-and-excite block: its pool, the chain on the descriptor, and the multiplication.
struct SeBlock {
    pool: OpId,
    chain: Vec<OpId>,
    mult: OpId,
}

/// The only reader of `v`.
fn sole_user(m: &Module, v: ValueId) -> Option<OpId> {
    match m.value(v).uses() {
        [u] => Some(u.op),
        _ => None,
    }
}

/// A 1×1, stride-1, unpadded convolution without a fused add: it works on every pixel alone.
fn pointwise_conv(m: &Module, op: OpId) -> bool {
    let Some(c) = hl::Conv2d::cast(m, op) else {
        return false;
    };
    let ones = |k: &str| {
        m.attr(op, k)
            .and_then(Attribute::as_i64_array)
            .is_none_or(|v| v.iter().all(|&x| x == 1))
    };
    let no_pads = m
        .attr(op, "pads")
        .and_then(Attribute::as_i64_array)
        .is_none_or(|v| v.iter().all(|&x| x == 0));
    let k = shape_of(m, m.operand(c.id(), 1));
    m.op(op).operands().len() <= 3
        && k.len() == 4
        && k[0] == 1
        && k[1] == 1
        && ones("strides")
        && ones("dilations")
        && no_pads
}

/// The SE block starting at global average pool `pool`, if it is one.
fn se_block(m: &Module, pool: OpId) -> Option<SeBlock> {
    let x = m.operand(pool, 0);
    let mut chain = Vec::new();
    let mut v = m.result(pool, 0);
    loop {
        let u = sole_user(m, v)?;
        if hl::EwMult::cast(m, u).is_some() {
            let ops = m.op(u).operands();
            let other = if ops[0] == v { ops[1] } else { ops[0] };
            return (other == x && shape_of(m, m.result(u, 0)) == shape_of(m, x)).then_some(
                SeBlock {
                    pool,
                    chain,
                    mult: u,
                },
            );
        }
        if !(pointwise_conv(m, u) || hl::ActivationOp::cast(m, u).is_some()) || m.operand(u, 0) != v
        {
            return None;
        }
        chain.push(u);
        v = m.result(u, 0);
    }
}

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &SeOptimizationOptions) -> Res<bool> {
    let blocks: Vec<SeBlock> = super::body_ops(m, g)
        .into_iter()
        .filter(|&op| hl::GlobalAvgPool::cast(m, op).is_some())
        .filter_map(|op| se_block(m, op))
        .collect();
    let chosen: Vec<SeBlock> = match o.mode.as_str() {
        "disabled" => return Ok(false),
        "sequential" => {
            let n = usize::try_from(o.count)
                .ok()
                .filter(|&n| n > 0)
                .ok_or("mode=sequential needs count > 0")?;
            if n > blocks.len() {
                return Err(format!(
                    "count={n} but the graph has {} squeeze-and-excite blocks",
                    blocks.len()
                ));
            }
            blocks.into_iter().take(n).collect()
        }
        "custom" => {
            let mut chosen = Vec::new();
            let mut blocks = blocks;
            for l in &o.layers {
                let i = blocks
                    .iter()
                    .position(|b| layer_name(m, b.pool) == Some(l.as_str()))
                    .ok_or_else(|| {
                        format!(
                            "'{l}' is not the global average pool of a squeeze-and-excite block"
                        )
                    })?;
                chosen.push(blocks.remove(i));
            }
            if chosen.is_empty() {
                return Err("mode=custom needs layers".into());
            }
            chosen
        }
        other => {
            return Err(format!(
                "unknown mode '{other}' (sequential, custom, disabled)"
            ))
        }
    };
    if o.tile_height.len() != 1 && o.tile_height.len() != chosen.len() {
        return Err(format!(
            "tile_height has {} values for {} blocks (give one, or one per block)",
            o.tile_height.len(),
            chosen.len()
        ));
    }
    for (i, b) in chosen.iter().enumerate() {
        let t = o.tile_height[i.min(o.tile_height.len() - 1)];
        tile(ctx, m, g, b, t)?;
    }
    Ok(true)
}

/// Rewrites block `b` with stripes `t` rows tall.
fn tile(ctx: &Context, m: &mut Module, g: OpId, b: &SeBlock, t: i64) -> Res<()> {
    let x = m.operand(b.pool, 0);
    let layer = layer_name(m, b.pool).unwrap_or("?").to_owned();
    let [n, h, w, c] = shape_of(m, x)[..] else {
        return Err(format!("'{layer}' needs an NHWC input"));
    };
    if t <= 0 || h % t != 0 {
        return Err(format!(
            "'{layer}': tile_height {t} must divide the height {h} without residue"
        ));
    }
    let elem = m.value_type(x).element();
    let pool = OpSpec::new(hl::AvgPool::NAME)
        .operands(&[x])
        .attr("layer", Attribute::str(&layer))
        .attr("kernel", Attribute::i64_array(&[t, w]))
        .attr("strides", Attribute::i64_array(&[t, w]))
        .attr("padding", Attribute::str("VALID"))
        .loc(m.op(b.pool).loc.clone());
    let pool = build(ctx, m, pool, Type::tensor(&[n, h / t, 1, c], elem))?;
    place_before(m, b.pool, pool);
    let old = m.result(b.pool, 0);
    let new = m.result(pool, 0);
    m.replace_all_uses(old, new);
    m.erase_op(b.pool);
    for &op in &b.chain {
        let infer = ctx
            .op_def(m.op(op).name_str())
            .and_then(|d| d.infer_types)
            .ok_or("a chain op has no type inference")?;
        let types = infer(m, op)?;
        m.set_value_type(m.result(op, 0), types[0]);
    }
    let gate = b.chain.last().map_or(new, |&op| m.result(op, 0));
    let resize = OpSpec::new(hl::Resize::NAME)
        .operands(&[gate])
        .attr("layer", Attribute::str(&fresh_layer(m, g, "resize")))
        .attr("mode", Attribute::str("nearest"))
        .attr("coordinate", Attribute::str("asymmetric"))
        .attr("nearest_mode", Attribute::str("floor"))
        .loc(m.op(b.mult).loc.clone());
    let resize = build(ctx, m, resize, Type::tensor(&[n, h, w, c], elem))?;
    place_before(m, b.mult, resize);
    let index = usize::from(m.operand(b.mult, 0) != gate);
    let r = m.result(resize, 0);
    m.set_operand(b.mult, index, r);
    Ok(())
}

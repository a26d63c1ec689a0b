//! `hl-normalization`: the model script's `normalization(mean, std, input_layer)` — an
//! `hl.normalization` layer `(x - mean) / std` right after the input layer(s).

use super::{build, fail_at, graphs, pick_name, select_inputs, splice_after, Res};
use hailo_dialect_hl as hl;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Context, Module, OpId, OpSpec};

hailo_ir::pass_options! {
    pub struct NormalizationOptions {
        /// Per-channel mean.
        mean: Vec<f64> = Vec::new(),
        /// Per-channel standard deviation (non-zero).
        std: Vec<f64> = Vec::new(),
        /// Input layer to normalize; every input layer when empty.
        input_layer: String = String::new(),
        /// Names of the created layers (the script's targets); `normalization<n>` otherwise.
        names: Vec<String> = Vec::new(),
    }
}

pub struct Normalization(NormalizationOptions);

impl PassDef for Normalization {
    const NAME: &'static str = "hl-normalization";
    const SUMMARY: &'static str = "Add input normalization (x - mean) / std after input layers";
    const ANCHOR: Option<&'static str> = None;
    type Options = NormalizationOptions;

    fn new(o: NormalizationOptions) -> Self {
        Normalization(o)
    }
    fn options(&self) -> &NormalizationOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        for g in graphs(m, root) {
            if let Err(e) = apply(cx.ctx, m, g, &self.0) {
                return Err(fail_at(cx, m, g, Self::NAME, e));
            }
        }
        Ok(Preserved::None)
    }
}

fn apply(ctx: &Context, m: &mut Module, g: OpId, o: &NormalizationOptions) -> Res<()> {
    if o.mean.is_empty() || o.mean.len() != o.std.len() {
        return Err(format!(
            "mean and std must be non-empty and of the same length, got {} and {}",
            o.mean.len(),
            o.std.len()
        ));
    }
    if let Some(i) = o.std.iter().position(|&s| s == 0.0) {
        return Err(format!("std[{i}] is 0; every std must be non-zero"));
    }
    for (i, input) in select_inputs(m, g, &o.input_layer)?.into_iter().enumerate() {
        let x = m.result(input, 0);
        let channels = super::shape_of(m, x).last().copied().unwrap_or(0);
        let broadcast = |v: &[f64]| -> Res<Vec<f64>> {
            match v.len() as i64 {
                1 => Ok(vec![v[0]; channels.max(1) as usize]),
                n if n == channels => Ok(v.to_vec()),
                n => Err(format!(
                    "{n} mean/std value(s) for an input with {channels} channels"
                )),
            }
        };
        let layer = pick_name(m, g, &o.names, i, "normalization")?;
        let spec = OpSpec::new(hl::Normalization::NAME)
            .operands(&[x])
            .attr("layer", Attribute::str(&layer))
            .attr("mean", Attribute::f64_array(&broadcast(&o.mean)?))
            .attr("std", Attribute::f64_array(&broadcast(&o.std)?));
        let op = build(ctx, m, spec, m.value_type(x))?;
        splice_after(m, input, op, x);
    }
    Ok(())
}

//! `test-calibration-activations`: prints the calibration activations analysis (how many ops
//! its last computation or update evaluated, and each layer's range), then optionally scales
//! one layer's kernel and reports only that change (`Preserved::Changed`), to test that the
//! analysis re-runs from the changed layer on.

use crate::quant::activations::CalibrationActivations;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Blob, Module, OpId, Sym};

hailo_ir::pass_options! {
    pub struct CalibrationActivationsOptions {
        /// The layer whose kernel (operand 1) to scale after printing ("": none).
        scale_layer: String = String::new(),
        /// The scale factor.
        factor: f64 = 2.0,
    }
}

pub struct TestCalibrationActivations(CalibrationActivationsOptions);

impl PassDef for TestCalibrationActivations {
    const NAME: &'static str = "test-calibration-activations";
    const SUMMARY: &'static str =
        "Test: print the calibration activations analysis, then scale one layer's kernel";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = CalibrationActivationsOptions;

    fn new(o: CalibrationActivationsOptions) -> Self {
        TestCalibrationActivations(o)
    }
    fn options(&self) -> &CalibrationActivationsOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let cached = cx.analyses.is_cached::<CalibrationActivations>(graph);
        let a = cx.analysis::<CalibrationActivations>(m, graph);
        if let Some(e) = a.error() {
            let e = e.to_owned();
            return Err(cx.fail_at(m, graph, e));
        }
        let mut text = format!(
            "{}: {}, evaluated {} ops\n",
            Self::NAME,
            if cached { "cached" } else { "computed" },
            a.evaluated
        );
        for (layer, (lo, hi)) in &a.ranges {
            text.push_str(&format!("  {layer}: [{lo}, {hi}]\n"));
        }
        cx.out.push_str(&text);
        if self.0.scale_layer.is_empty() {
            return Ok(Preserved::All);
        }
        let Some(op) = m
            .walk(graph)
            .into_iter()
            .find(|&o| m.attr(o, "layer").and_then(Attribute::as_str) == Some(&self.0.scale_layer))
        else {
            let e = format!("no layer '{}'", self.0.scale_layer);
            return Err(cx.fail_at(m, graph, e));
        };
        let Some(def) = m.op(op).operands().get(1).and_then(|&k| m.defining_op(k)) else {
            return Err(cx.fail_at(m, op, "the layer has no constant kernel"));
        };
        let values = crate::quant::weight_clipping::kernel_values(m, m.result(def, 0))
            .map_err(|e| cx.fail_at(m, op, e))?;
        let scaled: Vec<f32> = values.iter().map(|v| (v * self.0.factor) as f32).collect();
        let key = format!("{}.scaled", self.0.scale_layer);
        m.resources.insert(&key, Blob::from_f32(&scaled));
        let ty = m.value_type(m.result(def, 0));
        let attr = Attribute::DenseResource {
            key: Sym::new(&key),
            ty,
        };
        m.set_attr(def, "value", attr);
        Ok(Preserved::Changed(vec![def]))
    }
}

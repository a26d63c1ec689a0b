//! `PassCx::run_nested`: a pass runs a pipeline on a clone of the module; the nested run sees
//! the driver's resources, leaves the original untouched, and its errors become the outer
//! pass's diagnostics.

use hailo_executor::dataset::CalibrationSet;
use hailo_ir::pass::{
    Instrumentation, OpPassManager, PassCx, PassDef, PassFailed, PassInfo, PassRegistry, Preserved,
    Resources,
};
use hailo_ir::{parse_module, Context, Module, OpId};
use ndarray::{ArrayD, IxDyn};

const GRAPH: &str = r#"builtin.graph @main(%x: tensor<1x1x1x2xf32>) -> tensor<1x1x1x2xf32> {
  %i = hl.input_layer %x {layer = "input_layer1"} : tensor<1x1x1x2xf32>
  %o = hl.output_layer %i {layer = "output_layer1"} : tensor<1x1x1x2xf32>
  builtin.return %o : tensor<1x1x1x2xf32>
}"#;

hailo_ir::pass_options! {
    pub struct OuterOptions {}
}

/// Calibrates a clone of the module and reports whether the clone, and the original, got
/// `calib.range`.
struct Outer(OuterOptions);

impl PassDef for Outer {
    const NAME: &'static str = "test-outer";
    const SUMMARY: &'static str = "Test: calibrate a clone through a nested pipeline";
    const ANCHOR: Option<&'static str> = None;
    type Options = OuterOptions;

    fn new(o: OuterOptions) -> Self {
        Outer(o)
    }
    fn options(&self) -> &OuterOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        _root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut clone = m.clone();
        let mut pm = OpPassManager::parse(
            "builtin.module(builtin.graph(quant-calibrate{samples=2}))",
            &hailo_passes::registry(),
        )
        .expect("parses");
        let top = clone.top();
        cx.run_nested(&mut clone, top, &mut pm)?;
        let has = |m: &Module| {
            m.walk(m.top())
                .iter()
                .any(|&o| m.attr(o, "calib.range").is_some())
        };
        cx.out = format!("clone calibrated: {}, original: {}", has(&clone), has(m));
        Ok(Preserved::All)
    }
}

fn run(resources: &Resources) -> (Result<(), Vec<String>>, String) {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    let mut m = parse_module(&ctx, "nested.hir", GRAPH).expect("parses");
    let registry = PassRegistry::new(vec![PassInfo::of::<Outer>()], Vec::new());
    let mut pm = OpPassManager::parse("builtin.module(test-outer)", &registry).expect("parses");
    let mut inst = Instrumentation::default();
    let top = m.top();
    let result = pm
        .run_with(&mut m, &ctx, top, &mut inst, resources)
        .map_err(|f| f.diagnostics.into_iter().map(|d| d.message).collect());
    (result, inst.output)
}

#[test]
fn nested_run_sees_the_resources_and_leaves_the_original_alone() {
    let mut resources = Resources::new();
    let samples =
        ArrayD::from_shape_vec(IxDyn(&[2, 1, 1, 2]), vec![1.0, -2.0, 3.0, 0.5]).expect("shape");
    resources.insert(CalibrationSet(vec![samples]));
    let (result, out) = run(&resources);
    assert_eq!(result, Ok(()));
    assert_eq!(out, "clone calibrated: true, original: false");
}

#[test]
fn nested_errors_become_the_outer_pass_diagnostics() {
    let (result, _) = run(&Resources::new());
    let errors = result.expect_err("the nested calibration has no data");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("quant-calibrate: needs a calibration set"),
        "{errors:?}"
    );
}

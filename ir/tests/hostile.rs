//! Hostile IR text: nesting deep enough to overflow the stack, and tensor types too large to
//! allocate, are located parse errors (the limits are `hailo_guard::limits`).

use hailo_ir::{parse_module, Context};

const TOO_DEEP: &str = "nested more than 128 levels deep; no model nests this deep, the file is \
                        damaged or was not written by a model tool";

fn parse_error(src: &str) -> String {
    let mut ctx = Context::new();
    ctx.allow_unregistered = true;
    let Err(d) = parse_module(&ctx, "deep.hir", src) else {
        panic!("must not parse");
    };
    let (file, line, col) = d.loc.file_pos().expect("the error is located");
    format!("{}:{line}:{col}: {}", file.as_str(), d.message)
}

fn nest(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!("{}{middle}{}", open.repeat(depth), close.repeat(depth))
}

#[test]
fn deep_arrays_dictionaries_and_dense_literals_stop_at_the_limit() {
    let array = format!(
        "\"t.a\"() {{v = {}}} : () -> ()\n",
        nest("[", "1", "]", 100_000)
    );
    assert_eq!(
        parse_error(&array),
        format!("deep.hir:1:{}: attributes {TOO_DEEP}", 14 + 128)
    );
    let dict = format!(
        "\"t.a\"() {{v = {}}} : () -> ()\n",
        nest("{k = ", "1", "}", 100_000)
    );
    assert!(parse_error(&dict).ends_with(&format!("attributes {TOO_DEEP}")));
    let dense = format!(
        "\"t.a\"() {{v = dense<{}> : tensor<1xf32>}} : () -> ()\n",
        nest("[", "1.0", "]", 100_000)
    );
    assert!(parse_error(&dense).ends_with(&format!("dense literals {TOO_DEEP}")));
}

#[test]
fn deep_regions_and_modules_stop_at_the_limit() {
    let regions = format!(
        "{}\n",
        nest("\"t.a\"() ({\n", "", "}) : () -> ()\n", 100_000)
    );
    assert!(parse_error(&regions).ends_with(&format!("regions {TOO_DEEP}")));
    let modules = nest("builtin.module {\n", "", "}\n", 10_000);
    assert!(parse_error(&modules).ends_with(&format!("regions {TOO_DEEP}")));
}

#[test]
fn deep_locations_and_function_types_stop_at_the_limit() {
    let fused = format!(
        "\"t.a\"() : () -> () loc({})\n",
        nest("fused[", "unknown", "]", 100_000)
    );
    assert!(parse_error(&fused).ends_with(&format!("locations {TOO_DEEP}")));
    let func = format!(
        "\"t.a\"() {{t = {}}} : () -> ()\n",
        nest("(", "", ") -> ()", 100_000)
    );
    assert!(parse_error(&func).ends_with(&format!("types {TOO_DEEP}")));
}

#[test]
fn nested_tensor_types_fail_at_the_first_level() {
    let src = format!(
        "\"t.a\"() {{t = {}}} : () -> ()\n",
        nest("tensor<1x", "f32", ">", 100_000)
    );
    assert_eq!(
        parse_error(&src),
        "deep.hir:1:23: tensor element type must be a scalar type"
    );
}

#[test]
fn tensor_types_over_the_element_budget_are_refused() {
    let src = "\"t.a\"() {t = tensor<1099511627776x4xf32>} : () -> ()\n";
    assert_eq!(
        parse_error(src),
        "deep.hir:1:14: tensor type has 4398046511104 elements, over the budget of 268435456 \
         elements per tensor; if the model really needs it, raise the budget with \
         HAILO_MAX_TENSOR_ELEMENTS=N"
    );
}

#[test]
fn non_finite_float_attributes_print_and_parse_back() {
    // Copying a module (print, parse) failed with "expected type, found 'inf'".
    let mut ctx = Context::new();
    ctx.allow_unregistered = true;
    let src = "\"t.a\"() {a = inf : f32, b = -inf, c = nan : f32} : () -> ()\n";
    let Ok(m) = parse_module(&ctx, "t.hir", src) else {
        panic!("non-finite attributes parse");
    };
    let printed = hailo_ir::print_module(&m, &ctx, hailo_ir::PrintOptions::default());
    assert!(
        printed.contains("a = inf : f32, b = -inf, c = nan : f32"),
        "{printed}"
    );
    assert!(
        parse_module(&ctx, "printed.hir", &printed).is_ok(),
        "{printed}"
    );
}

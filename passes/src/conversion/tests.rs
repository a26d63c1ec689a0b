//! `hl-to-quant` errors of the layout and elementwise lowerings: each names the layer and
//! says what has no integer lowering.

use super::hl_to_quant::convert_graph;
use hailo_ir::builtin::GRAPH;
use hailo_ir::Context;

fn lower(body: &str, result: &str) -> Result<String, String> {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx.register(hailo_dialect_quant::dialect());
    let text = format!(
        "builtin.module {{\n  builtin.graph @g(%x: tensor<2x4x6x8xf32>) -> {result} {{\n    %i = hl.input_layer %x {{layer = \"in\", q_range = [-1.0, 1.0]}} : tensor<2x4x6x8xf32>\n{body}    %o = hl.output_layer %r {{layer = \"out\"}} : {result}\n    builtin.return %o : {result}\n  }}\n}}\n"
    );
    let mut m = hailo_ir::parse_module(&ctx, "t.hir", &text).map_err(|d| d.message)?;
    let g = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == GRAPH)
        .ok_or("no graph")?;
    convert_graph(&mut m, g).map_err(|(_, e)| e)?;
    Ok(hailo_ir::print_module(
        &m,
        &ctx,
        hailo_ir::PrintOptions::default(),
    ))
}

#[test]
fn slicing_the_batch_axis_is_an_error_naming_the_layer() {
    let e = lower(
        "    %r = hl.slice %i {layer = \"slice1\", starts = [1, 0, 0, 0], ends = [2, 4, 6, 8], steps = [1, 1, 1, 1]} : tensor<1x4x6x8xf32>\n",
        "tensor<1x4x6x8xf32>",
    )
    .unwrap_err();
    assert_eq!(
        e,
        "hl-to-quant: layer 'slice1' (hl.slice): slicing the batch axis has no integer lowering (keep axis 0 whole)"
    );
}

#[test]
fn slice_bounds_are_written_per_non_batch_axis() {
    let ir = lower(
        "    %r = hl.slice %i {layer = \"slice1\", starts = [0, 1, 0, 3], ends = [2, 4, 6, 8], steps = [1, 2, 3, 1]} : tensor<2x2x2x5xf32>\n",
        "tensor<2x2x2x5xf32>",
    )
    .expect("lowers");
    assert!(
        ir.contains("q.slice %0 {ends = [4, 6, 8], layer = \"slice1\", starts = [1, 0, 3], steps = [2, 3, 1]}"),
        "{ir}"
    );
}

#[test]
fn ew_div_with_a_too_large_rescale_is_an_error() {
    // S_a / (S_b · S_y) = 1 / S_y ≈ 2.6e14 cannot be a 31-bit multiplier with a shift >= 0.
    let e = lower(
        "    %r = hl.ew_div %i, %i {layer = \"div1\", q_range = [0.0, 1.0e-12]} : tensor<2x4x6x8xf32>\n",
        "tensor<2x4x6x8xf32>",
    )
    .unwrap_err();
    assert!(
        e.starts_with("hl-to-quant: layer 'div1' (hl.ew_div): rescale factor")
            && e.contains("needs a negative exponent"),
        "{e}"
    );
}

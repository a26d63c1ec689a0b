//! `hl-to-quant` errors of the layout, elementwise and affine lowerings (each names the
//! layer and says what is missing or has no integer lowering), and the IR some of them emit.

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
fn slicing_axis_0_writes_bounds_for_every_axis() {
    let ir = lower(
        "    %r = hl.slice %i {layer = \"slice1\", starts = [1, 0, 0, 0], ends = [2, 4, 6, 8], steps = [1, 1, 1, 1]} : tensor<1x4x6x8xf32>\n",
        "tensor<1x4x6x8xf32>",
    )
    .expect("lowers");
    assert!(
        ir.contains("q.slice %0 {ends = [2, 4, 6, 8], layer = \"slice1\", starts = [1, 0, 0, 0], steps = [1, 1, 1, 1]}"),
        "{ir}"
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

#[test]
fn normalization_without_a_calibration_range_is_an_error_naming_the_layer() {
    let e = lower(
        "    %r = hl.normalization %i {layer = \"normalization1\", mean = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5], std = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0]} : tensor<2x4x6x8xf32>\n",
        "tensor<2x4x6x8xf32>",
    )
    .unwrap_err();
    assert_eq!(
        e,
        "hl-to-quant: layer 'normalization1' (hl.normalization): missing calibration range 'q_range = [lo, hi]' (run the quantizer's calibration first)"
    );
}

#[test]
fn normalization_becomes_a_depthwise_conv_with_16_bit_weights() {
    let ir = lower(
        "    %r = hl.normalization %i {layer = \"normalization1\", mean = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5], std = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0], q_range = [-1.0, 1.0]} : tensor<2x4x6x8xf32>\n",
        "tensor<2x4x6x8xf32>",
    )
    .expect("lowers");
    assert!(
        ir.contains("tensor<1x1x1x8x!q.per_axis<i16:f32, axis = 3")
            && ir.contains("q.depthwise_conv2d %0, %1, %2 {clamp = [0, 255], dilations = [1, 1], layer = \"normalization1\""),
        "{ir}"
    );
}

#[test]
fn a_constant_pad_value_outside_the_input_range_saturates_to_its_storage() {
    let ir = lower(
        "    %r = hl.pad %i {layer = \"pad1\", mode = \"constant\", pads = [0, 1, 0, 0, 0, 0, 0, 0], value = 5.0} : tensor<2x5x6x8xf32>\n",
        "tensor<2x5x6x8xf32>",
    )
    .expect("lowers");
    assert!(
        ir.contains("q.pad %0 {layer = \"pad1\", mode = \"constant\", pads = [0, 1, 0, 0, 0, 0, 0, 0], value = 255}"),
        "{ir}"
    );
}

#[test]
fn an_affine_bias_too_large_for_16_bit_weights_falls_back_to_8_bit_weights() {
    // Input [-1, 1]: S_x = 2/255. A mean of 1e5 is 4.2e11 accumulator steps with 16-bit
    // weights (S_w = 1/32767), beyond i32; with 8-bit weights (S_w = 1/127) it is 1.6e9.
    let ir = lower(
        "    %r = hl.normalization %i {layer = \"norm1\", mean = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0e5], std = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], q_range = [-100001.0, 1.0]} : tensor<2x4x6x8xf32>\n",
        "tensor<2x4x6x8xf32>",
    )
    .expect("lowers");
    assert!(
        ir.contains("tensor<1x1x1x8x!q.per_axis<i8:f32, axis = 3"),
        "{ir}"
    );
}

//! Unit tests of the resource model on parsed `phys` IR: each case checks the numbers the
//! resources doc (§4, §5) and the DFC guide give for one kind of layer.

use crate::{layer_fps, resource_model, ResourceModel, Resources};
use hailo_ir::{parse_module, verifier, Context, Module, OpId};
use hailo_target::{ScMode, Target};

const U8: &str = "!q.uniform<u8:f32, 0.5:0>";

fn ctx() -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_quant::dialect());
    ctx.register(crate::dialect());
    ctx
}

/// Parses one graph whose argument has shape `input` (u8), with `body` (which may use `%x` and
/// `%w`, a splat i8 kernel of shape `kernel`), verifies it, and returns the module and the op
/// whose result is `%y`.
fn parse(input: &str, kernel: &str, body: &str) -> (Module, OpId) {
    let src = format!(
        "builtin.graph @g(%x: tensor<{input}x{U8}>) -> tensor<{input}x{U8}> {{\n  \
         %w = q.const {{value = dense<1> : tensor<{kernel}xi32>}} : tensor<{kernel}x!q.uniform<i8:f32, 0.5:0>>\n  \
         {body}\n  builtin.return %x : tensor<{input}x{U8}>\n}}\n"
    );
    let ctx = ctx();
    let m = parse_module(&ctx, "t.hir", &src).unwrap_or_else(|d| panic!("{}: {src}", d.message));
    verifier::verify(&m, &ctx, m.top()).unwrap_or_else(|d| panic!("{}", d[0].message));
    let y = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str().starts_with("phys.") && !m.op(o).results().is_empty())
        .expect("a phys op");
    (m, y)
}

fn resources(m: &Module, op: OpId) -> Resources {
    resource_model(m, op).unwrap().resources(m, op).unwrap()
}

#[test]
fn every_phys_op_has_a_resource_model() {
    for def in crate::ops::defs() {
        assert!(
            def.interface::<dyn ResourceModel>().is_some(),
            "{} has no ResourceModel",
            def.name
        );
    }
}

/// The 2022 resnet_v1_50 3x3 conv at 56x56, 64 -> 64 features: 115,605,504 MACs (resources doc §5).
#[test]
fn a_3x3_conv_costs_one_lcu_and_runs_at_the_mac_bound() {
    let (m, op) = parse(
        "1x56x56x64",
        "3x3x64x64",
        &format!("%y = phys.layer %x, %w {{kind = \"conv\", layer = \"conv3\", kernel = [3, 3], subclusters = 6}} : tensor<1x56x56x64x{U8}>"),
    );
    let r = resources(&m, op);
    assert_eq!(
        r,
        Resources {
            layer_controllers: 1,
            subclusters: 6,
            apus: 1,
            input_aligners: 1,
            weight_bytes: 3 * 3 * 64 * 64,
            buffer_bytes: 0
        }
    );
    let w = resource_model(&m, op)
        .unwrap()
        .work(&m, op)
        .unwrap()
        .unwrap();
    assert_eq!(w.macs, 115_605_504);
    assert_eq!(w.mode, ScMode::Mode8x8);
    // 6 × 64 × 400e6 / 115,605,504.
    let h8 = Target::hailo8();
    let fps = layer_fps(&m, op, &h8).unwrap().unwrap();
    assert!((fps - 1328.6565).abs() < 1e-3, "{fps}");
    // Hailo-8R: half the clock, half the rate; W = 56 and C = 64 fill 8x8 tiles exactly.
    assert!((w.fps(6, &Target::hailo8r()) - fps / 2.0).abs() < 1e-9);
    assert_eq!(w.aligned_macs(&h8), w.macs);
    // No L3 unit size is known for the Hailo-8, so no memory units; a calibrated one gives them.
    assert_eq!(r.l3_units(&h8), None);
    let mut calibrated = h8.clone();
    calibrated.memory.l3_unit_bytes.value = Some(32 * 1024);
    assert_eq!(r.l3_units(&calibrated), Some(2));
}

/// 16x4 tiles 16 columns × 4 features: a 56-wide layer pads to 64 columns, a 4-feature layer
/// wastes nothing, where 8x8 would pad its 4 features to 8 (DFC guide: "useful when the number of
/// features is smaller than 8").
#[test]
fn the_16x4_mode_takes_two_aligners_and_tiles_differently() {
    let body = |mode: &str| {
        format!("%y = phys.layer %x, %w {{kind = \"conv\", layer = \"c\", kernel = [3, 3], subclusters = 8, mode = \"{mode}\"}} : tensor<1x56x56x4x{U8}>")
    };
    let h8 = Target::hailo8();
    let (m, op) = parse("1x56x56x64", "3x3x64x4", &body("16x4"));
    assert_eq!(resources(&m, op).input_aligners, 2);
    let w16 = resource_model(&m, op)
        .unwrap()
        .work(&m, op)
        .unwrap()
        .unwrap();
    assert_eq!(w16.macs, 56 * 56 * 9 * 64 * 4);
    assert_eq!(w16.aligned_macs(&h8), 56 * 64 * 9 * 64 * 4);
    let (m, op) = parse("1x56x56x64", "3x3x64x4", &body("8x8"));
    assert_eq!(resources(&m, op).input_aligners, 1);
    let w8 = resource_model(&m, op)
        .unwrap()
        .work(&m, op)
        .unwrap()
        .unwrap();
    assert_eq!(w8.aligned_macs(&h8), 56 * 56 * 9 * 64 * 8);
    assert!(w16.aligned_fps(8, &h8) > w8.aligned_fps(8, &h8));
    assert_eq!(w16.fps(8, &h8), w8.fps(8, &h8));
}

#[test]
fn dense_depthwise_and_defused_parts_count_their_own_macs() {
    let (m, op) = parse(
        "1x1x1x2048",
        "1x1x2048x500",
        &format!("%y = phys.layer %x, %w {{kind = \"dense\", layer = \"fc1_d0\", defuse = \"features\", part = [0, 2], subclusters = 3}} : tensor<1x500x{U8}>"),
    );
    let w = resource_model(&m, op)
        .unwrap()
        .work(&m, op)
        .unwrap()
        .unwrap();
    assert_eq!(w.macs, 2048 * 500);
    assert_eq!(w.output_width_features, None);

    let (m, op) = parse(
        "1x56x56x64",
        "3x3x1x64",
        &format!("%y = phys.layer %x, %w {{kind = \"depthwise\", layer = \"dw1\", kernel = [3, 3], strides = [2, 2]}} : tensor<1x28x28x64x{U8}>"),
    );
    let w = resource_model(&m, op)
        .unwrap()
        .work(&m, op)
        .unwrap()
        .unwrap();
    assert_eq!(w.macs, 28 * 28 * 9 * 64);
    assert_eq!(resources(&m, op).subclusters, 1);
}

/// A COMPUTE_LANES pooling part (the one part of its defuse, `maxpool1_lanes_2` in the v2.18
/// resnet_v1_50 dump) takes 2 APUs and 2 IAs (resources doc §4); pooling is not MAC-driven.
#[test]
fn compute_lanes_parts_take_two_apus() {
    let (m, op) = parse(
        "1x112x112x64",
        "1x1x1x1",
        &format!("%y = phys.layer %x {{kind = \"maxpool\", layer = \"maxpool1_lanes_2\", kernel = [3, 3], strides = [2, 2], defuse = \"compute_lanes\", part = [0, 1], subclusters = 2}} : tensor<1x56x56x64x{U8}>"),
    );
    let r = resources(&m, op);
    assert_eq!(
        (r.layer_controllers, r.subclusters, r.apus, r.input_aligners),
        (1, 2, 2, 2)
    );
    assert_eq!(resource_model(&m, op).unwrap().work(&m, op).unwrap(), None);
    assert_eq!(layer_fps(&m, op, &Target::hailo8()).unwrap(), None);
}

#[test]
fn portals_buffers_and_host_side_conversions_take_no_layer_controller() {
    let t = format!("tensor<1x56x56x64x{U8}>");
    let cases = [
        (format!("%y = phys.portal %x {{layer = \"p\", memory = \"ddr\"}} : {t}"), (0, 0, 0, 1)),
        (format!("%y = phys.portal %x {{layer = \"p\", memory = \"l4\"}} : {t}"), (0, 0, 1, 0)),
        (format!("%y = phys.format_conversion %x {{layer = \"f\", conversion = \"reshape\"}} : {t}"), (0, 0, 0, 0)),
        (format!("%y = phys.format_conversion %x {{layer = \"f\", conversion = \"transpose\", subclusters = 1}} : {t}"), (1, 1, 1, 1)),
        (format!("%y = phys.shortcut %x {{layer = \"s\"}} : {t}"), (1, 1, 1, 1)),
    ];
    for (body, want) in cases {
        let (m, op) = parse("1x56x56x64", "1x1x1x1", &body);
        let r = resources(&m, op);
        assert_eq!(
            (r.layer_controllers, r.subclusters, r.apus, r.input_aligners),
            want,
            "{body}"
        );
    }
    // 5 rows before and 4 after a cluster transition, of a 56-wide, 64-feature u8 map.
    let (m, op) = parse(
        "1x56x56x64",
        "1x1x1x1",
        &format!("%y = phys.buffer %x {{rows = 5, rows_after = 4}} : {t}"),
    );
    assert_eq!(resources(&m, op).buffer_bytes, 9 * 56 * 64);
    assert_eq!(resources(&m, op).layer_controllers, 0);
}

/// A feature part holds its share of the kernel: 3x3x64x64 i8 = 36,864 bytes, features 16..48
/// of 64 -> 18,432.
#[test]
fn a_feature_part_holds_its_slice_of_the_weights() {
    let (m, op) = parse(
        "1x56x56x64",
        "3x3x64x64",
        &format!("%y = phys.layer %x, %w {{kind = \"conv\", layer = \"conv3_d1\", kernel = [3, 3], subclusters = 4, defuse = \"features\", part = [1, 3], slice = [16, 48]}} : tensor<1x56x56x32x{U8}>"),
    );
    let r = resources(&m, op);
    assert_eq!(
        (r.layer_controllers, r.subclusters, r.weight_bytes),
        (1, 4, 18_432)
    );
}

/// The second layer of a merge shares the first's controller and subclusters.
#[test]
fn the_second_layer_of_a_merge_takes_no_layer_resources() {
    let body = |i: i64| {
        format!("%y = phys.layer %x, %w {{kind = \"conv\", layer = \"c\", subclusters = 3, merged = \"m\", merge_index = {i}}} : tensor<1x8x8x8x{U8}>")
    };
    let (m, op) = parse("1x8x8x8", "1x1x8x8", &body(0));
    let r = resources(&m, op);
    assert_eq!(
        (r.layer_controllers, r.subclusters, r.apus, r.input_aligners),
        (1, 3, 1, 1)
    );
    let (m, op) = parse("1x8x8x8", "1x1x8x8", &body(1));
    let r = resources(&m, op);
    assert_eq!(
        (
            r.layer_controllers,
            r.subclusters,
            r.apus,
            r.input_aligners,
            r.weight_bytes
        ),
        (0, 0, 0, 0, 64)
    );
}

/// The kinds `quant-to-phys` lowers since its first draft, as the dumps allocate them (resources
/// doc §4): an argmax, a slice, a pad and an LCU resize each take one LCU, SC, APU and IA; a
/// resize on the PPU (stdc1's `resize7`, 0 subclusters) takes nothing; none is MAC-driven.
#[test]
fn helpers_of_the_new_kinds_cost_one_lcu_or_nothing_on_the_ppu() {
    let one = Resources {
        layer_controllers: 1,
        subclusters: 1,
        apus: 1,
        input_aligners: 1,
        ..Resources::default()
    };
    for (kind, extra, out) in [
        ("argmax", "axis = 3", "1x8x8x1"),
        (
            "slice",
            "starts = [0, 0, 0], ends = [8, 8, 4], steps = [1, 1, 1]",
            "1x8x8x4",
        ),
        ("pad", "pads = [0, 0, 0, 0, 0, 0, 0, 0]", "1x8x8x8"),
        ("resize", "interpolation = \"nearest\"", "1x16x16x8"),
        ("reduce", "reduction = \"max\", axes = [3]", "1x8x8x1"),
    ] {
        let (m, op) = parse(
            "1x8x8x8",
            "1x1x8x8",
            &format!("%y = phys.layer %x {{kind = \"{kind}\", layer = \"l1\", {extra}}} : tensor<{out}x{U8}>"),
        );
        assert_eq!(resources(&m, op), one, "{kind}");
        let target = Target::hailo8();
        assert_eq!(layer_fps(&m, op, &target).unwrap(), None, "{kind}");
    }
    let (m, op) = parse(
        "1x8x8x8",
        "1x1x8x8",
        &format!("%y = phys.layer %x {{kind = \"resize\", layer = \"resize7\", subclusters = 0, interpolation = \"bilinear\", frac_bits = 8}} : tensor<1x64x64x8x{U8}>"),
    );
    assert_eq!(resources(&m, op), Resources::default());
}

/// A matmul is MAC-driven: `|result| × K`; 1x64x64 results of K = 256 on 2 subclusters run at
/// 2 × 64 × 400e6 / 1,048,576 = 48,828.1 FPS.
#[test]
fn a_matmul_runs_at_its_mac_bound() {
    let src = format!(
        "builtin.graph @g(%a: tensor<1x64x256x{U8}>, %b: tensor<1x256x64x{U8}>) -> tensor<1x64x64x{U8}> {{\n  \
         %y = phys.layer %a, %b {{kind = \"matmul\", layer = \"matmul1\", inputs = 2, subclusters = 2}} : tensor<1x64x64x{U8}>\n  \
         builtin.return %y : tensor<1x64x64x{U8}>\n}}\n"
    );
    let ctx = ctx();
    let m = parse_module(&ctx, "t.hir", &src).unwrap_or_else(|d| panic!("{}", d.message));
    verifier::verify(&m, &ctx, m.top()).unwrap_or_else(|d| panic!("{}", d[0].message));
    let op = m
        .walk(m.top())
        .into_iter()
        .find(|&o| m.op(o).name_str() == "phys.layer")
        .expect("the matmul");
    let work = resource_model(&m, op)
        .unwrap()
        .work(&m, op)
        .unwrap()
        .unwrap();
    assert_eq!(work.macs, 64 * 64 * 256);
    let fps = layer_fps(&m, op, &Target::hailo8()).unwrap().unwrap();
    assert!(
        (fps - 2.0 * 64.0 * 400e6 / 1_048_576.0).abs() < 1e-6,
        "{fps}"
    );
    assert_eq!(resources(&m, op).subclusters, 2);
}

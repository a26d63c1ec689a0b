use std::collections::BTreeMap;
fn main() {
    for name in ["digits_cnn_opset13", "digits_mbv2", "mobilenet_v2", "resnet18", "squeezenet1_1", "yolo_like_320"] {
        let model = hailo_onnx::load(format!("/work/shared/models/{name}.onnx")).expect("loads");
        let m = hailo_onnx::to_hl::convert(&model, &Default::default()).expect("conv").module;
        let mut h: BTreeMap<String, usize> = BTreeMap::new();
        for op in m.walk(m.top()) {
            let mut k = m.op(op).name_str().to_string();
            if let Some(a) = m.attr(op, "activation") { k = format!("{k}[{a:?}]"); }
            if let Some(a) = m.attr(op, "kind") { k = format!("{k}[{a:?}]"); }
            *h.entry(k).or_default() += 1;
        }
        println!("{name}: {h:?}");
    }
}

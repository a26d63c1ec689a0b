//! Text rendering of [`HefInfo`] for terminals.

use super::{ContextInfo, HefInfo, StreamInfo};
use std::fmt::Write;

pub(super) fn render(i: &HefInfo) -> String {
    let mut s = String::new();
    let c = &i.container;
    let status = if c.checksum_ok { "valid" } else { "MISMATCH" };
    let _ = writeln!(
        s,
        "Container: v{} ({}-byte header), {} checksum {} ({status})",
        c.version, c.header_size, c.checksum_kind, c.checksum
    );
    let _ = writeln!(
        s,
        "Sections: proto {} B, padding {} B, CCW {} B, additional info {} B, file {} B",
        c.proto_size, c.padding_size, c.ccw_section_size, c.additional_info_size, c.file_size
    );
    let arch = i.hw_arch.name.unwrap_or("unknown");
    let _ = writeln!(
        s,
        "Architecture: {arch} ({}) -> {}",
        i.hw_arch.value, i.hw_arch.device
    );
    let _ = writeln!(
        s,
        "SDK version: {:?}, proto version {}, timestamp {}",
        i.sdk_version, i.proto_version, i.timestamp
    );
    let list = |v: &[super::ExtensionInfo]| {
        v.iter()
            .map(|e| format!("{} ({})", e.name, e.type_index))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "Extensions: {}", list(&i.extensions));
    let _ = writeln!(s, "Optional extensions: {}", list(&i.optional_extensions));
    for g in &i.network_groups {
        let _ = writeln!(
            s,
            "Network group {} ({} layout), {}, {} config channel(s)",
            g.name, g.layout, g.context_mode, g.cfg_channels
        );
        for n in &g.networks {
            let _ = writeln!(s, "  Network {n}");
        }
        for st in &g.streams {
            stream(&mut s, st);
        }
        if !g.sorted_outputs.is_empty() {
            let _ = writeln!(s, "  Sorted outputs: {}", g.sorted_outputs.join(", "));
        }
        for ctx in g.preliminary.iter().chain(&g.contexts) {
            context(&mut s, ctx);
        }
    }
    let w = &i.ccw;
    let _ = writeln!(
        s,
        "CCWs: {} words in {} B, {} write_data_ccw_ptr actions",
        w.words, w.bytes, w.ccw_ptr_actions
    );
    for ch in &w.per_channel {
        let _ = writeln!(
            s,
            "  config channel {}: {} words, {} B",
            ch.cfg_channel_index, ch.words, ch.bytes
        );
    }
    for p in &w.problems {
        let _ = writeln!(s, "  problem: {p}");
    }
    s
}

fn stream(s: &mut String, st: &StreamInfo) {
    let [h, w, f] = st.shape;
    let order = st.format_order.unwrap_or("?");
    let dtype = st.data_type.unwrap_or("?");
    let _ = write!(
        s,
        "  {} {} {dtype}, {order}({h}x{w}x{f})",
        if st.direction == "input" {
            "Input"
        } else {
            "Output"
        },
        st.name
    );
    if let Some([ph, pw, pf]) = st.padded_shape {
        let _ = write!(s, " padded {ph}x{pw}x{pf}");
    }
    if let (Some(sys), Some(data_bytes)) = (st.sys_index, st.data_bytes) {
        let _ = write!(s, ", sys_index {sys}, {data_bytes} B/elem");
    }
    if let (Some(zp), Some(scale), Some([lo, hi])) = (st.qp_zp, st.qp_scale, st.limvals) {
        let _ = write!(s, ", qp_zp {zp}, qp_scale {scale}, limvals [{lo}, {hi}]");
    }
    if !st.qp_zps.is_empty() {
        let _ = write!(s, ", per-feature qp x{}", st.qp_zps.len());
    }
    let _ = writeln!(s);
}

fn context(s: &mut String, c: &ContextInfo) {
    let counts = c
        .action_counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        s,
        "  Context {}: {} operation(s), {} edge layer(s); actions: {counts}",
        c.name,
        c.operations.len(),
        c.edge_layers
    );
    for (n, o) in c.operations.iter().enumerate() {
        let _ = writeln!(
            s,
            "    operation {n}: trigger {}, {} action(s)",
            o.trigger, o.actions
        );
    }
}

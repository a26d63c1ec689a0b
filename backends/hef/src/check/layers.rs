//! Edge-layer rules: per-layer field limits, then per-core-op rules over all layers
//! (unique boundary names, DDR pairs, sorted outputs, networks, per-feature quantization).

use super::{Rule, Violation};
use crate::hef::Hef;
use crate::names::{self, ext};
use crate::proto::{
    CoreOpView, EdgeKind, EdgeLayer, EdgeLayerBase, EdgeLayerInfo, HefEdge, NestedEdge,
    NetworkGroup, CONNECTION_DDR,
};

/// HAILO_MAX_STREAM_NAME_SIZE / HAILO_MAX_NETWORK_NAME_SIZE, NUL included.
const MAX_NAME: usize = 128;

/// HailoRT's qp count for NMS-on-chip layers (instead of `features`).
const NMS_NUMBER_OF_QPS: usize = 2;

pub(super) fn check(hef: &Hef, out: &mut Vec<Violation>) {
    let has = |t: u32| hef.proto.extensions.iter().any(|e| e.type_index == t);
    let multi_network = hef
        .proto
        .optional_extensions
        .iter()
        .any(|e| e.type_index == ext::MULTI_NETWORK_VARIABLE_BATCH_SIZE);
    let per_feature = has(ext::OUTPUT_SCALE_PER_FEATURE);
    for (g, group) in hef.proto.network_groups.iter().enumerate() {
        let Some(core) = group.core_op() else {
            continue;
        };
        let at = format!("network_groups[{g}]");
        let mut boundary: Vec<(String, &EdgeLayer)> = Vec::new();
        for (c, context) in core.contexts.iter().enumerate() {
            let Some(meta) = &context.metadata else {
                continue;
            };
            for (l, layer) in meta.edge_layers.iter().enumerate() {
                let loc = format!(
                    "{at}.contexts[{c}].metadata.edge_layers[{l}] ({})",
                    layer.name()
                );
                check_layer(layer, &loc, per_feature, out);
                if layer.is_boundary() {
                    boundary.push((loc, layer));
                }
            }
            check_ddr_pairs(&meta.edge_layers, c, &format!("{at}.contexts[{c}]"), out);
        }
        check_unique_names(&boundary, out);
        check_networks(&core, &boundary, multi_network, &at, out);
        check_sorted_outputs(group, &core, &boundary, &at, out);
    }
}

/// The INFO layers inside an edge layer (itself, mux predecessors, planes), plus mux bases.
fn infos(layer: &EdgeLayer) -> (Vec<&EdgeLayerInfo>, Vec<(&str, &EdgeLayerBase)>) {
    fn nested<'a>(
        edges: &'a [HefEdge],
        i: &mut Vec<&'a EdgeLayerInfo>,
        m: &mut Vec<(&'a str, &'a EdgeLayerBase)>,
    ) {
        for e in edges {
            match &e.edge {
                Some(NestedEdge::LayerInfo(x)) => i.push(x),
                Some(NestedEdge::LayerMux(x)) => {
                    m.extend(x.edge_layer_base.as_ref().map(|b| (x.name.as_str(), b)));
                    nested(&x.predecessors, i, m);
                }
                Some(NestedEdge::LayerPlanes(x)) => nested(&x.planes, i, m),
                None => {}
            }
        }
    }
    let (mut i, mut m) = (Vec::new(), Vec::new());
    match &layer.edge {
        Some(EdgeKind::LayerInfo(x)) => i.push(x),
        Some(EdgeKind::LayerMux(x)) => {
            m.extend(x.edge_layer_base.as_ref().map(|b| (x.name.as_str(), b)));
            nested(&x.predecessors, &mut i, &mut m);
        }
        Some(EdgeKind::LayerPlanes(x)) => nested(&x.planes, &mut i, &mut m),
        None => {}
    }
    (i, m)
}

fn check_layer(layer: &EdgeLayer, loc: &str, per_feature: bool, out: &mut Vec<Violation>) {
    if names::connection_type_name(layer.connection_type()).is_none() {
        let msg = format!(
            "edge_connection_type {} is not BOUNDARY/INTERMEDIATE/DDR/CACHE",
            layer.connection_type()
        );
        out.push(Violation::new(Rule::UnknownConnectionType, loc, msg));
    }
    let (infos, mux_bases) = infos(layer);
    for info in &infos {
        check_name(&info.name, loc, out);
        match &info.edge_layer_base {
            Some(base) => check_base(&info.name, base, loc, out),
            None => out.push(Violation::new(
                Rule::MissingBufferIndices,
                loc,
                format!("{}: no edge_layer_base", info.name),
            )),
        }
        if per_feature {
            check_qp_vectors(layer.is_input(), info, loc, out);
        }
    }
    for (name, base) in mux_bases {
        check_name(name, loc, out);
        check_base(name, base, loc, out);
    }
}

fn check_name(name: &str, loc: &str, out: &mut Vec<Violation>) {
    if name.len() >= MAX_NAME {
        let msg = format!(
            "name is {} bytes; HailoRT allows at most {}",
            name.len(),
            MAX_NAME - 1
        );
        out.push(Violation::new(Rule::NameTooLong, loc, msg));
    }
}

fn check_base(name: &str, b: &EdgeLayerBase, loc: &str, out: &mut Vec<Violation>) {
    let mut push =
        |rule, msg: String| out.push(Violation::new(rule, loc, format!("{name}: {msg}")));
    if names::format_name(b.format).is_none() {
        push(
            Rule::UnsupportedFormat,
            format!("format code {} is not one HailoRT maps", b.format),
        );
    }
    if names::data_type_name(b.data_bytes).is_none() {
        push(
            Rule::UnsupportedDataBytes,
            format!("data_bytes {} (must be 1 or 2)", b.data_bytes),
        );
    }
    if b.host_argmax {
        push(
            Rule::HostArgmax,
            "host_argmax is set; HailoRT 4.23 rejects it".into(),
        );
    }
    for (field, v) in [
        ("core_bytes_per_buffer", b.core_bytes_per_buffer),
        ("core_buffers_per_frame", b.core_buffers_per_frame),
    ] {
        if v > u32::from(u16::MAX) {
            push(
                Rule::BufferGeometryTooLarge,
                format!("{field} {v} exceeds 65535"),
            );
        }
    }
    let frame = [
        b.padded_height,
        b.padded_width,
        b.padded_features,
        b.data_bytes,
    ]
    .iter()
    .map(|&v| u64::from(v))
    .product::<u64>();
    if frame > u64::from(u32::MAX) {
        push(
            Rule::PaddedFrameTooLarge,
            format!("padded frame of {frame} bytes does not fit 32 bits"),
        );
    }
    for (field, v) in [("sys_index", b.sys_index), ("engine_id", b.engine_id)] {
        if v > 255 {
            push(
                Rule::StreamIndexTooLarge,
                format!("{field} {v} exceeds 255"),
            );
        }
    }
    if b.buffer_indices.is_empty() {
        push(
            Rule::MissingBufferIndices,
            "edge_layer_base.buffer_indices is empty".into(),
        );
    }
}

fn check_qp_vectors(input: bool, info: &EdgeLayerInfo, loc: &str, out: &mut Vec<Violation>) {
    let Some(base) = &info.edge_layer_base else {
        return;
    };
    let Some(n) = &info.numeric_info else { return };
    let features = base.features as usize;
    let nms = base.format == names::FORMAT_NMS_ON_CHIP;
    let expected = if nms { NMS_NUMBER_OF_QPS } else { features };
    let short = n.qp_zps.len() < expected || n.qp_scales.len() < expected;
    let exact = n.qp_zps.len() == expected && n.qp_scales.len() == expected;
    if (input && short) || (!input && !exact) {
        let msg = format!(
            "{}: OUTPUT_SCALE_PER_FEATURE needs {expected} per-feature qp values, found {} zps and {} scales",
            info.name,
            n.qp_zps.len(),
            n.qp_scales.len()
        );
        out.push(Violation::new(Rule::PerFeatureQpLength, loc, msg));
        return;
    }
    let uniform = |v: &[f64]| {
        v.iter()
            .take(expected)
            .all(|x| x.to_bits() == v[0].to_bits())
    };
    if input && expected > 0 && !(uniform(&n.qp_zps) && uniform(&n.qp_scales)) {
        let msg = format!(
            "{}: inputs must have the same qp_zp/qp_scale for all features",
            info.name
        );
        out.push(Violation::new(Rule::InputQpNotUniform, loc, msg));
    }
}

fn check_ddr_pairs(layers: &[EdgeLayer], context: usize, at: &str, out: &mut Vec<Violation>) {
    let ddr: Vec<&EdgeLayer> = layers
        .iter()
        .filter(|l| l.connection_type() == CONNECTION_DDR)
        .collect();
    let (inputs, outputs): (Vec<&EdgeLayer>, Vec<&EdgeLayer>) =
        ddr.iter().partition(|l| l.is_input());
    let mut push = |msg: String| out.push(Violation::new(Rule::UnpairedDdrLayer, at, msg));
    if inputs.len() != outputs.len() {
        push(format!(
            "{} DDR input layers but {} DDR output layers",
            inputs.len(),
            outputs.len()
        ));
        return;
    }
    for o in &outputs {
        let connected = o
            .context_switch_info
            .as_ref()
            .map(|c| c.connected_contexts.as_slice())
            .unwrap_or_default();
        let [peer] = connected else {
            push(format!(
                "DDR output {} needs exactly one connected context, has {}",
                o.name(),
                connected.len()
            ));
            continue;
        };
        if peer.index as usize != context {
            push(format!(
                "DDR output {} is connected to context {}, not its own ({context})",
                o.name(),
                peer.index
            ));
        }
        let matches: Vec<_> = inputs
            .iter()
            .filter(|i| i.base().map(|b| b.sys_index) == Some(peer.sys_index))
            .collect();
        let [input] = matches.as_slice() else {
            push(format!(
                "DDR output {} has {} DDR inputs with sys_index {}",
                o.name(),
                matches.len(),
                peer.sys_index
            ));
            continue;
        };
        let geometry = |l: &EdgeLayer| {
            l.base()
                .map(|b| (b.core_bytes_per_buffer, b.core_buffers_per_frame))
        };
        if geometry(o) != geometry(input) {
            push(format!(
                "DDR pair {} / {} differ in core_bytes_per_buffer or core_buffers_per_frame",
                o.name(),
                input.name()
            ));
        }
    }
}

fn check_unique_names(boundary: &[(String, &EdgeLayer)], out: &mut Vec<Violation>) {
    for (i, (loc, layer)) in boundary.iter().enumerate() {
        if boundary[..i].iter().any(|(_, l)| l.name() == layer.name()) {
            let msg = format!(
                "boundary layer name {:?} is used more than once in the core op",
                layer.name()
            );
            out.push(Violation::new(
                Rule::DuplicateBoundaryName,
                loc.clone(),
                msg,
            ));
        }
    }
}

fn check_networks(
    core: &CoreOpView,
    boundary: &[(String, &EdgeLayer)],
    multi: bool,
    at: &str,
    out: &mut Vec<Violation>,
) {
    let networks: Vec<String> = if multi && !core.networks_names.is_empty() {
        core.networks_names
            .iter()
            .map(|n| format!("{}/{n}", core.name))
            .collect()
    } else {
        vec![format!("{0}/{0}", core.name)]
    };
    for name in &networks {
        check_name(name, &format!("{at}.networks_names"), out);
    }
    let index = |l: &EdgeLayer| if multi { l.network_index as usize } else { 0 };
    for (loc, layer) in boundary {
        if index(layer) >= networks.len() {
            let msg = format!(
                "network_index {} but only {} networks are named",
                layer.network_index,
                networks.len()
            );
            out.push(Violation::new(
                Rule::NetworkIndexOutOfRange,
                loc.clone(),
                msg,
            ));
        }
    }
    for (n, name) in networks.iter().enumerate() {
        let mine = || boundary.iter().filter(|(_, l)| index(l) == n);
        if !mine().any(|(_, l)| l.is_input()) {
            out.push(Violation::new(
                Rule::NetworkMissingInput,
                at,
                format!("network {name} has no input stream"),
            ));
        }
        if !mine().any(|(_, l)| !l.is_input()) {
            out.push(Violation::new(
                Rule::NetworkMissingOutput,
                at,
                format!("network {name} has no output stream"),
            ));
        }
    }
}

/// HailoRT's source order for the output list: group, first partial group, fused-layer
/// metadata (when the group has fused layers), last context.
fn sorted_outputs<'a>(group: &'a NetworkGroup, core: &CoreOpView<'a>) -> &'a [String] {
    let partial = group
        .partial_network_groups
        .first()
        .and_then(|p| p.network_group.as_ref())
        .map(|n| n.sorted_outputs_order.as_slice());
    let fused = core
        .fused_layers_metadata
        .filter(|f| f.network_has_fused_layers)
        .map(|f| f.updated_sorted_output_names.as_slice());
    let last = core
        .contexts
        .last()
        .and_then(|c| c.metadata.as_ref())
        .map(|m| m.sorted_outputs_order.as_slice());
    [Some(core.sorted_outputs_order), partial, fused, last]
        .into_iter()
        .flatten()
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

fn check_sorted_outputs(
    group: &NetworkGroup,
    core: &CoreOpView,
    boundary: &[(String, &EdgeLayer)],
    at: &str,
    out: &mut Vec<Violation>,
) {
    let list = sorted_outputs(group, core);
    if list.is_empty() {
        out.push(Violation::new(Rule::MissingSortedOutputs, at, "no sorted_outputs_order list in the group, its partials, fused metadata or last context"));
        return;
    }
    let outputs: Vec<&(String, &EdgeLayer)> =
        boundary.iter().filter(|(_, l)| !l.is_input()).collect();
    if outputs.len() < 2 {
        return;
    }
    for (loc, layer) in outputs {
        if !list.iter().any(|n| n == layer.name()) {
            let msg = format!(
                "output {:?} is missing from sorted_outputs_order",
                layer.name()
            );
            out.push(Violation::new(
                Rule::OutputNotInSortedList,
                loc.clone(),
                msg,
            ));
        }
    }
}

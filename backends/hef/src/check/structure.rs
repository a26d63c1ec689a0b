//! File-level and group-level rules: extensions, header version, layouts and contexts.

use super::{Rule, Violation};
use crate::hef::Hef;
use crate::names::{self, ext};

pub(super) fn check(hef: &Hef, out: &mut Vec<Violation>) {
    let p = &hef.proto;
    let unknown: Vec<String> = p
        .extensions
        .iter()
        .filter(|e| !names::extension_supported_by_4_23(e.type_index))
        .map(|e| names::extension_name(e.type_index))
        .collect();
    if !unknown.is_empty() {
        let msg = format!(
            "HailoRT 4.23 does not support extension(s) {}; move optional ones to optional_extensions",
            unknown.join(", ")
        );
        out.push(Violation::new(
            Rule::UnsupportedExtension,
            "extensions",
            msg,
        ));
    }
    if !p
        .extensions
        .iter()
        .any(|e| e.type_index == ext::PERIPH_CALCULATION_IN_HAILORT)
    {
        let msg = "PERIPH_CALCULATION_IN_HAILORT (26) missing from extensions: \"HEF is outdated\"";
        out.push(Violation::new(
            Rule::MissingPeriphCalculation,
            "extensions",
            msg,
        ));
    }
    let version = p.header.as_ref().map_or(0, |h| h.version);
    if version == 0 {
        let msg = "header.version is 0 (or the header is missing): \"HEF is outdated\"; write a value > 0";
        out.push(Violation::new(
            Rule::OutdatedHeaderVersion,
            "header.version",
            msg,
        ));
    }
    let arch = p.header.as_ref().map_or(0, |h| h.hw_arch);
    let net_flow = p
        .extensions
        .iter()
        .any(|e| e.type_index == ext::HAILO_NET_FLOW);
    for (g, group) in p.network_groups.iter().enumerate() {
        let at = format!("network_groups[{g}]");
        if net_flow {
            check_net_flow(group, &at, out);
        }
        let Some(core) = group.core_op() else {
            continue;
        };
        if names::is_multi_layout_arch(arch) && core.partial_count == 0 {
            let msg = format!(
                "hw_arch {} needs partial network groups / partial core ops, none present",
                names::hw_arch_name(arch).unwrap_or("?")
            );
            out.push(Violation::new(
                Rule::MultiLayoutWithoutPartials,
                at.clone(),
                msg,
            ));
        }
        if core.contexts.is_empty() {
            out.push(Violation::new(
                Rule::NoContexts,
                at,
                "core op has zero contexts",
            ));
        }
    }
}

fn check_net_flow(group: &crate::proto::NetworkGroup, at: &str, out: &mut Vec<Violation>) {
    let Some((op, _)) = group.net_flow_core_op() else {
        let msg = "HAILO_NET_FLOW extension present but the group has no core_op op";
        out.push(Violation::new(
            Rule::NetFlowWithoutCoreOp,
            format!("{at}.ops"),
            msg,
        ));
        return;
    };
    if op.name != group.name() {
        let msg = format!(
            "network_group_metadata.network_group_name {:?} differs from the core op's name {:?}",
            group.name(),
            op.name
        );
        out.push(Violation::new(Rule::NetFlowNameMismatch, at, msg));
    }
}

//! Context-switch program rules: every operation needs a supported trigger, and every action
//! must be one HailoRT 4.23 implements for the container version.

use super::{Rule, Violation};
use crate::container::Version;
use crate::hef::Hef;
use crate::proto::{ActionKind, Operation, TriggerKind};

pub(super) fn check(hef: &Hef, out: &mut Vec<Violation>) {
    let v0 = hef.container.version == Version::V0;
    for (g, group) in hef.proto.network_groups.iter().enumerate() {
        let Some(core) = group.core_op() else {
            continue;
        };
        let prelim = core
            .preliminary_config
            .map(|p| ("preliminary_config".to_string(), &p.operation));
        let contexts = core
            .contexts
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("contexts[{i}]"), &c.operations));
        for (where_, ops) in prelim.into_iter().chain(contexts) {
            for (o, op) in ops.iter().enumerate() {
                let at = format!("network_groups[{g}].{where_}.operations[{o}]");
                check_operation(op, &at, v0, out);
            }
        }
    }
}

fn check_operation(op: &Operation, at: &str, v0: bool, out: &mut Vec<Violation>) {
    match op.trigger.as_ref().and_then(|t| t.trigger.as_ref()) {
        None => out.push(Violation::new(
            Rule::OperationWithoutTrigger,
            at,
            "operation has no trigger set",
        )),
        Some(TriggerKind::AllDataWasReceived(_)) => out.push(Violation::new(
            Rule::UnsupportedTrigger,
            format!("{at}.trigger"),
            "trigger_all_data_was_received is not implemented by HailoRT",
        )),
        Some(_) => {}
    }
    for (a, action) in op.actions.iter().enumerate() {
        let at = format!("{at}.actions[{a}]");
        let unsupported = |what: &str| {
            Violation::new(
                Rule::UnsupportedAction,
                at.clone(),
                format!("{what}: \"Action not implemented\""),
            )
        };
        match &action.action {
            Some(ActionKind::WriteDataCcw(_)) if !v0 => out.push(Violation::new(
                Rule::InlineCcwInV1Plus,
                at.clone(),
                "inline write_data_ccw in a v1-v3 container; use write_data_ccw_ptr into the CCW section",
            )),
            Some(ActionKind::WriteDataCcwPtr(_)) if v0 => out.push(Violation::new(
                Rule::CcwPtrInV0,
                at.clone(),
                "write_data_ccw_ptr in a v0 container, which has no CCW section",
            )),
            Some(ActionKind::WriteData(_)) => out.push(unsupported("write_data")),
            Some(ActionKind::WriteCompressedData(_)) => out.push(unsupported("write_compressed_data")),
            Some(ActionKind::AllowConfigChannels(_) | ActionKind::DisableDataChannels(_)) => {
                out.push(unsupported("HailoRT 5.x-only action"))
            }
            None => out.push(unsupported("action with no type set")),
            Some(_) => {}
        }
    }
}

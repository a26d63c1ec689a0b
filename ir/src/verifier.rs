//! Structural and per-op verification.
//!
//! Structural checks hold for every op (live operands, use-lists, registered
//! names, terminators last, isolation); then each registered op's trait
//! checks, its attribute schema, its own `verify` hook and its inferred
//! result types run. All
//! problems are reported, not just the first.

use crate::diag::Diagnostic;
use crate::dialect::{Context, Traits};
use crate::module::{Module, OpId, ValueDef};
use rustc_hash::FxHashSet;

/// Verifies `root` and everything nested in it; returns every diagnostic found.
pub fn verify(m: &Module, ctx: &Context, root: OpId) -> Result<(), Vec<Diagnostic>> {
    let mut errs = Vec::new();
    for op in m.walk(root) {
        verify_op(m, ctx, op, &mut errs);
        if !m.op(op).regions().is_empty() {
            for check in ctx.dialects().filter_map(|d| d.verify_regions) {
                errs.extend(check(m, op));
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

fn err(m: &Module, op: OpId, msg: impl AsRef<str>) -> Diagnostic {
    let o = m.op(op);
    Diagnostic::error(
        o.loc.clone(),
        format!("'{}' op {}", o.name_str(), msg.as_ref()),
    )
}

fn verify_op(m: &Module, ctx: &Context, op: OpId, errs: &mut Vec<Diagnostic>) {
    let o = m.op(op);
    let name = o.name_str();
    for (i, &v) in o.operands().iter().enumerate() {
        if !m.is_value_alive(v) {
            errs.push(err(
                m,
                op,
                format!("operand #{i} refers to an erased value"),
            ));
            return;
        }
        if !m
            .value(v)
            .uses()
            .iter()
            .any(|u| u.op == op && u.index as usize == i)
        {
            errs.push(err(
                m,
                op,
                format!("operand #{i} is missing from its value's use-list"),
            ));
        }
    }
    let Some(def) = ctx.op_def(name) else {
        if !ctx.allow_unregistered {
            errs.push(err(
                m,
                op,
                "is not registered (use --allow-unregistered-dialect to accept it)",
            ));
        }
        return;
    };
    if def.traits.contains(Traits::TERMINATOR) && m.next_op(op).is_some() {
        errs.push(err(m, op, "must be the last operation in its block"));
    }
    if def.traits.contains(Traits::ISOLATED_FROM_ABOVE) {
        check_isolation(m, op, errs);
    }
    if def.traits.contains(Traits::SAME_OPERANDS_AND_RESULT_TYPE) {
        let mut types = o
            .operands()
            .iter()
            .chain(o.results())
            .map(|&v| m.value_type(v));
        if let Some(first) = types.next() {
            if let Some(other) = types.find(|t| *t != first) {
                errs.push(err(
                    m,
                    op,
                    format!("requires the same type for all operands and results ('{first}' vs '{other}')"),
                ));
                return;
            }
        }
    }
    if let Some(schema) = def.attrs {
        let bad = crate::schema::check(m, op, schema);
        if !bad.is_empty() {
            errs.extend(bad.into_iter().map(|e| err(m, op, e)));
            return;
        }
    }
    if let Some(verify) = def.verify {
        if let Err(e) = verify(m, op) {
            errs.push(err(m, op, e));
            return;
        }
    }
    if let Some(infer) = def.infer_types {
        match infer(m, op) {
            Ok(types) => {
                let actual: Vec<_> = o.results().iter().map(|&r| m.value_type(r)).collect();
                if types != actual {
                    let show = |ts: &[crate::Type]| {
                        ts.iter()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    errs.push(err(
                        m,
                        op,
                        format!(
                            "inferred type(s) '{}' are incompatible with the result type(s) '{}'",
                            show(&types),
                            show(&actual)
                        ),
                    ));
                }
            }
            Err(e) => errs.push(err(m, op, e)),
        }
    }
}

/// Values used inside an isolated op must be defined inside it.
fn check_isolation(m: &Module, op: OpId, errs: &mut Vec<Diagnostic>) {
    let inner = m.walk(op);
    let inside: FxHashSet<OpId> = inner.iter().copied().collect();
    for &child in &inner[1..] {
        for (i, &v) in m.op(child).operands().iter().enumerate() {
            if !m.is_value_alive(v) {
                continue;
            }
            let def_op = match m.value(v).def {
                ValueDef::Result(d, _) => Some(d),
                ValueDef::BlockArg(b, _) => {
                    m.block(b).parent_region().map(|r| m.region(r).parent_op())
                }
            };
            if def_op.is_some_and(|d| !inside.contains(&d)) {
                errs.push(
                    err(
                        m,
                        child,
                        format!("operand #{i} uses a value defined outside its isolated parent"),
                    )
                    .with_note(
                        m.op(op).loc.clone(),
                        format!("isolated parent '{}'", m.op(op).name_str()),
                    ),
                );
            }
        }
    }
}

//! Binary elementwise layers `hl.ew_*` with numpy broadcasting and a fused
//! activation.

use super::check_layer;
use crate::access::{OpView, Result};
use crate::shape::broadcast;
use hailo_ir::{define_op, Module, OpDef, OpId, Traits, Type};

macro_rules! ew_ops {
    ($($ty:ident = $name:literal: $doc:literal,)*) => {
        $(define_op! {
            #[doc = $doc]
            pub struct $ty = $name {
                operands { lhs: 0, rhs: 1 }
                attrs { activation: str, layer: str }
            }
        })*
    };
}

ew_ops! {
    EwAdd = "hl.ew_add": "`a + b`",
    EwSub = "hl.ew_sub": "`a - b`",
    EwMult = "hl.ew_mult": "`a * b`",
    EwDiv = "hl.ew_div": "`a / b`",
    EwMax = "hl.ew_max": "`max(a, b)`",
    EwMin = "hl.ew_min": "`min(a, b)`",
    EwPow = "hl.ew_pow": "`a ^ b`",
}

fn verify_ew(m: &Module, op: OpId) -> Result<()> {
    check_layer(m, op, (2, 2), "two operands a and b", true).map(|_| ())
}

fn infer_ew(m: &Module, op: OpId) -> Result<Vec<Type>> {
    let v = OpView::new(m, op);
    let (ea, eb) = (v.elem(0, "a")?, v.elem(1, "b")?);
    if ea != eb {
        return Err(format!("operand element types differ: {ea} vs {eb}"));
    }
    Ok(vec![Type::tensor(
        &broadcast(&v.shape(0, "a")?, &v.shape(1, "b")?)?,
        ea,
    )])
}

pub fn defs() -> Vec<OpDef> {
    let ew = Traits::PURE | Traits::ELEMENTWISE;
    let comm = ew | Traits::COMMUTATIVE;
    [
        (EwAdd::NAME, "Elementwise addition", comm),
        (EwSub::NAME, "Elementwise subtraction", ew),
        (EwMult::NAME, "Elementwise multiplication", comm),
        (EwDiv::NAME, "Elementwise division", ew),
        (EwMax::NAME, "Elementwise maximum", comm),
        (EwMin::NAME, "Elementwise minimum", comm),
        (EwPow::NAME, "Elementwise power", ew),
    ]
    .into_iter()
    .map(|(name, summary, traits)| {
        OpDef::new(name, summary, traits)
            .verify(verify_ew)
            .infer(infer_ew)
    })
    .collect()
}

//! Binary elementwise layers `hl.ew_*` with numpy broadcasting and a fused
//! activation.

use super::check_layer;
use crate::access::{OpView, Result};
use crate::shape::broadcast;
use hailo_ir::{define_op, Module, OpDef, OpId, Type};

macro_rules! ew_ops {
    ($($ty:ident = $name:literal / $hn:literal: $doc:literal, $summary:literal, [$($tr:ident),*] $($role:ident)?;)*) => {
        $(define_op! {
            #[doc = $doc]
            pub struct $ty = $name {
                summary: $summary, traits: [PURE, ELEMENTWISE $(, $tr)*],
                operands { lhs: 0, rhs: 1 }
                attrs { activation: str, layer: str [required = "the Hailo layer name, a string"] }
                attr_groups [super::QUANT_ANNOTATIONS, super::ACTIVATION_PARAMS]
                interfaces {
                    crate::interfaces::FusedActivation => crate::interfaces::ActivationAttr,
                    crate::interfaces::HnExport => crate::hn::HnLayer::new($hn, &[], crate::hn::ACT)
                    $(, crate::interfaces::PrecisionGroup => crate::interfaces::GroupRole::$role)?
                }
                hooks { verify: verify_ew, infer: infer_ew }
            }
        })*

        pub fn defs() -> Vec<OpDef> {
            vec![$($ty::def()),*]
        }
    };
}

ew_ops! {
    EwAdd = "hl.ew_add" / "ew_add": "`a + b`", "Elementwise addition", [COMMUTATIVE] JoinsInputs;
    EwSub = "hl.ew_sub" / "ew_sub": "`a - b`", "Elementwise subtraction", [] JoinsInputs;
    EwMult = "hl.ew_mult" / "ew_mult": "`a * b`", "Elementwise multiplication", [COMMUTATIVE];
    EwDiv = "hl.ew_div" / "ew_div": "`a / b`", "Elementwise division", [];
    EwMax = "hl.ew_max" / "ew_max": "`max(a, b)`", "Elementwise maximum", [COMMUTATIVE];
    EwMin = "hl.ew_min" / "ew_min": "`min(a, b)`", "Elementwise minimum", [COMMUTATIVE];
    EwPow = "hl.ew_pow" / "ew_pow": "`a ^ b`", "Elementwise power", [];
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

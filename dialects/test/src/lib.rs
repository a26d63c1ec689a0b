//! The `test` dialect: small integer ops whose only purpose is to exercise
//! the infrastructure (folding, canonical patterns, traits, verifiers, type
//! inference, regions) from lit tests, independently of the real dialects.

use hailo_ir::{
    define_op, Attribute, Dialect, FoldResult, Location, Module, OpDef, OpId, OpSpec,
    RewritePattern, Rewriter, Syntax, Traits, Type,
};

define_op! {
    /// `%0 = test.constant {value = 3} : i64`
    pub struct Constant = "test.constant" {
        attrs { value: attr }
    }
}

define_op! {
    /// Integer addition; folds constants and `x + 0`.
    pub struct AddI = "test.addi" {
        operands { lhs: 0, rhs: 1 }
    }
}

define_op! {
    /// Integer negation; `neg(neg(x))` canonicalizes to `x`.
    pub struct Neg = "test.neg" {
        operands { input: 0 }
    }
}

pub fn dialect() -> Dialect {
    let pure = Traits::PURE;
    Dialect {
        name: "test",
        summary: "Ops for testing the IR infrastructure",
        ops: vec![
            OpDef::new(
                Constant::NAME,
                "An integer or tensor constant",
                pure | Traits::CONSTANT_LIKE,
            )
            .verify(verify_constant),
            OpDef::new(
                AddI::NAME,
                "Integer addition",
                pure | Traits::COMMUTATIVE | Traits::SAME_OPERANDS_AND_RESULT_TYPE,
            )
            .verify(|m, op| expect_arity(m, op, 2, 1))
            .fold(fold_addi),
            OpDef::new(
                Neg::NAME,
                "Integer negation",
                pure | Traits::SAME_OPERANDS_AND_RESULT_TYPE,
            )
            .verify(|m, op| expect_arity(m, op, 1, 1))
            .fold(fold_neg)
            .patterns(|| vec![Box::new(DoubleNeg)]),
            OpDef::new("test.identity", "Returns its operand", pure).fold(|m, op, _| {
                (m.op(op).operands().len() == 1).then(|| vec![FoldResult::Value(m.operand(op, 0))])
            }),
            OpDef::new(
                "test.effect",
                "An op with side effects: never CSE'd or erased",
                Traits::NONE,
            ),
            OpDef::new(
                "test.positive",
                "Verifies that its `value` attribute is positive",
                pure,
            )
            .verify(
                |m, op| match m.attr(op, "value").and_then(Attribute::as_i64) {
                    Some(v) if v > 0 => Ok(()),
                    Some(v) => Err(format!("attribute 'value' must be positive, got {v}")),
                    None => Err("requires an integer attribute 'value'".into()),
                },
            ),
            OpDef::new(
                "test.same_shape",
                "Result type is inferred from the first operand",
                pure,
            )
            .infer(|m, op| match m.op(op).operands().first() {
                Some(&v) => Ok(vec![m.value_type(v)]),
                None => Err("expects at least one operand".into()),
            }),
            OpDef::new(
                "test.region",
                "An op with one region (generic form only)",
                Traits::NONE,
            )
            .syntax(Syntax::Generic),
        ],
        materialize_constant: Some(materialize),
        verify_regions: None,
    }
}

fn expect_arity(m: &Module, op: OpId, operands: usize, results: usize) -> Result<(), String> {
    let o = m.op(op);
    if o.operands().len() != operands || o.results().len() != results {
        return Err(format!(
            "expects {operands} operand(s) and {results} result(s), got {} and {}",
            o.operands().len(),
            o.results().len()
        ));
    }
    Ok(())
}

fn verify_constant(m: &Module, op: OpId) -> Result<(), String> {
    let o = m.op(op);
    if o.results().len() != 1 {
        return Err("expects exactly one result".into());
    }
    match o.attr("value") {
        Some(Attribute::Int(..) | Attribute::Dense(..) | Attribute::DenseResource { .. }) => Ok(()),
        Some(other) => Err(format!(
            "'value' must be an integer or dense attribute, found '{other}'"
        )),
        None => Err("requires a 'value' attribute".into()),
    }
}

fn int_of(a: &Option<Attribute>) -> Option<i64> {
    a.as_ref().and_then(Attribute::as_i64)
}

fn fold_addi(m: &Module, op: OpId, consts: &[Option<Attribute>]) -> Option<Vec<FoldResult>> {
    let ty = m.value_type(m.result(op, 0));
    match (int_of(&consts[0]), int_of(&consts[1])) {
        (Some(a), Some(b)) => Some(vec![FoldResult::Attr(Attribute::Int(
            a.wrapping_add(b),
            ty,
        ))]),
        (_, Some(0)) => Some(vec![FoldResult::Value(m.operand(op, 0))]),
        (Some(0), _) => Some(vec![FoldResult::Value(m.operand(op, 1))]),
        _ => None,
    }
}

fn fold_neg(m: &Module, op: OpId, consts: &[Option<Attribute>]) -> Option<Vec<FoldResult>> {
    let ty = m.value_type(m.result(op, 0));
    int_of(&consts[0]).map(|a| vec![FoldResult::Attr(Attribute::Int(a.wrapping_neg(), ty))])
}

fn materialize(m: &mut Module, value: &Attribute, ty: Type, loc: Location) -> Option<OpId> {
    matches!(value, Attribute::Int(..)).then(|| {
        m.create_op(
            OpSpec::new(Constant::NAME)
                .results(&[ty])
                .attr("value", value.clone())
                .loc(loc),
        )
    })
}

/// `neg(neg(x))` → `x`.
struct DoubleNeg;

impl RewritePattern for DoubleNeg {
    fn name(&self) -> &'static str {
        "test-double-neg"
    }
    fn root(&self) -> Option<&'static str> {
        Some(Neg::NAME)
    }
    fn match_and_rewrite(&self, rw: &mut Rewriter<'_>, op: OpId) -> bool {
        let Some(inner) = Neg(op).input(rw.m).and_then(|v| rw.m.defining_op(v)) else {
            return false;
        };
        let Some(inner) = Neg::cast(rw.m, inner) else {
            return false;
        };
        let Some(x) = inner.input(rw.m) else {
            return false;
        };
        rw.replace_op(op, &[x]);
        true
    }
}

//! The `hl` dialect: Hailo's layer set in float, NHWC with HWIO kernels, as
//! in Hailo's HN. This crate starts with constants, convolution and ReLU;
//! the full layer set arrives with the ONNX frontend.

use hailo_ir::lexer::Tok;
use hailo_ir::parser::{OpState, PResult, Parser};
use hailo_ir::printer::Printer;
use hailo_ir::syntax::CustomSyntax;
use hailo_ir::{define_op, Attribute, Dialect, Location, Module, OpDef, OpId, OpSpec, Syntax, Traits, Type};

define_op! {
    /// `%w = hl.const dense<...> : tensor<...>`: a constant tensor.
    pub struct Const = "hl.const" {
        attrs { value: attr }
    }
}

define_op! {
    /// 2-D convolution, NHWC input, HWIO kernel, optional bias.
    pub struct Conv2d = "hl.conv2d" {
        operands { input: 0, kernel: 1, bias: 2 }
        attrs { strides: i64_array, dilations: i64_array, groups: i64, padding: str }
    }
}

pub fn dialect() -> Dialect {
    Dialect {
        name: "hl",
        summary: "Hailo layers (float, NHWC)",
        ops: vec![
            OpDef::new(Const::NAME, "A constant tensor", Traits::PURE | Traits::CONSTANT_LIKE)
                .syntax(Syntax::Custom(&ConstSyntax))
                .verify(verify_const),
            OpDef::new(Conv2d::NAME, "2-D convolution (NHWC, HWIO)", Traits::PURE)
                .verify(verify_conv)
                .infer(infer_conv),
            OpDef::new("hl.relu", "Rectified linear unit", Traits::PURE | Traits::ELEMENTWISE | Traits::SAME_OPERANDS_AND_RESULT_TYPE),
        ],
        materialize_constant: Some(|m: &mut Module, a: &Attribute, ty: Type, loc: Location| {
            matches!(a, Attribute::Dense(_) | Attribute::DenseResource { .. })
                .then(|| m.create_op(OpSpec::new(Const::NAME).results(&[ty]).attr("value", a.clone()).loc(loc)))
        }),
    }
}

fn value_type(a: &Attribute) -> Option<Type> {
    match a {
        Attribute::Dense(d) => Some(d.ty),
        Attribute::DenseResource { ty, .. } => Some(*ty),
        _ => None,
    }
}

fn verify_const(m: &Module, op: OpId) -> Result<(), String> {
    let o = m.op(op);
    let Some(ty) = o.attr("value").and_then(value_type) else {
        return Err("requires a dense or dense_resource 'value' attribute".into());
    };
    if o.results().len() != 1 || m.value_type(o.results()[0]) != ty {
        return Err(format!("result type must equal the value's type '{ty}'"));
    }
    Ok(())
}

struct ConstSyntax;

impl CustomSyntax for ConstSyntax {
    fn print(&self, p: &mut Printer<'_>, op: OpId) {
        let text = p.m.attr(op, "value").map(|a| format!(" {a}")).unwrap_or_default();
        p.write(&text);
        p.attr_dict(op, &["value"], false);
    }

    fn parse(&self, p: &mut Parser<'_>, st: &mut OpState) -> PResult<()> {
        let at = p.here();
        let value = p.parse_attr()?;
        let Some(ty) = value_type(&value) else {
            return Err(Box::new(hailo_ir::Diagnostic::error(at, "expected dense<...> or dense_resource<...> value")));
        };
        st.attrs.push((hailo_ir::Sym::new("value"), value));
        if p.kind() == Tok::LBrace {
            p.parse_attr_dict(&mut st.attrs)?;
        }
        st.result_types.push(ty);
        Ok(())
    }
}

fn rank4(m: &Module, op: OpId, i: usize, what: &str) -> Result<Vec<i64>, String> {
    let v = m.op(op).operands().get(i).ok_or_else(|| format!("missing {what} operand"))?;
    let s = m.value_type(*v).shape().ok_or_else(|| format!("{what} must be a tensor"))?;
    if s.len() != 4 {
        return Err(format!("{what} must have rank 4, got rank {}", s.len()));
    }
    Ok(s.to_vec())
}

fn pair(m: &Module, op: OpId, key: &str) -> Result<[i64; 2], String> {
    match m.attr(op, key).map(|a| a.as_i64_array()) {
        None => Ok([1, 1]),
        Some(Some(v)) if v.len() == 2 && v.iter().all(|&x| x >= 1) => Ok([v[0], v[1]]),
        Some(_) => Err(format!("'{key}' must be two positive integers")),
    }
}

fn verify_conv(m: &Module, op: OpId) -> Result<(), String> {
    let n = m.op(op).operands().len();
    if !(2..=3).contains(&n) {
        return Err(format!("expects input, kernel and optional bias, got {n} operand(s)"));
    }
    let x = rank4(m, op, 0, "input")?;
    let k = rank4(m, op, 1, "kernel")?;
    let groups = m.attr(op, "groups").map_or(Some(1), Attribute::as_i64).filter(|g| *g >= 1);
    let Some(groups) = groups else { return Err("'groups' must be a positive integer".into()) };
    if x[3] % groups != 0 || k[3] % groups != 0 || k[2] * groups != x[3] {
        return Err(format!(
            "kernel input channels ({}) × groups ({groups}) must equal input channels ({})",
            k[2], x[3]
        ));
    }
    if n == 3 {
        let b = m.value_type(m.operand(op, 2)).shape().unwrap_or(&[]).to_vec();
        if b != [k[3]] {
            return Err(format!("bias must have shape [{}], got {b:?}", k[3]));
        }
    }
    Ok(())
}

fn infer_conv(m: &Module, op: OpId) -> Result<Vec<Type>, String> {
    let x = rank4(m, op, 0, "input")?;
    let k = rank4(m, op, 1, "kernel")?;
    let [sh, sw] = pair(m, op, "strides")?;
    let [dh, dw] = pair(m, op, "dilations")?;
    let padding = m.attr(op, "padding").and_then(Attribute::as_str).unwrap_or("VALID");
    let ek = |k: i64, d: i64| (k - 1) * d + 1;
    let out = |i: i64, k: i64, s: i64| -> i64 {
        match padding {
            "VALID" => (i - k) / s + 1,
            _ => (i + s - 1) / s,
        }
    };
    if !matches!(padding, "VALID" | "SAME" | "SAME_TENSORFLOW") {
        return Err(format!("'padding' must be VALID, SAME or SAME_TENSORFLOW, got '{padding}'"));
    }
    let (oh, ow) = (out(x[1], ek(k[0], dh), sh), out(x[2], ek(k[1], dw), sw));
    if oh < 1 || ow < 1 {
        return Err(format!("kernel {}x{} does not fit the {}x{} input", k[0], k[1], x[1], x[2]));
    }
    let elem = m.value_type(m.operand(op, 0)).element();
    Ok(vec![Type::tensor(&[x[0], oh, ow, k[3]], elem)])
}

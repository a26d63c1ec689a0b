//! Property test: random well-formed modules survive print → parse → print
//! unchanged, in both the custom and the generic form, and the two forms
//! describe the same IR.

use hailo_ir::{
    builtin, parse_module, print_module, Attribute, Context, DenseValues, Location, Module, OpSpec,
    PrintOptions, Signedness, Type, ValueId,
};
use proptest::prelude::*;

fn elem_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::f32()),
        Just(Type::f16()),
        Just(Type::bf16()),
        Just(Type::i64()),
        (1u32..=32, 0..3u8).prop_map(|(w, s)| Type::int(
            w,
            [
                Signedness::Signless,
                Signedness::Signed,
                Signedness::Unsigned
            ][s as usize]
        )),
    ]
}

fn tensor_type() -> impl Strategy<Value = Type> {
    (prop::collection::vec(1i64..5, 0..4), elem_type()).prop_map(|(s, e)| Type::tensor(&s, e))
}

fn leaf_attr() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        Just(Attribute::Unit),
        any::<bool>().prop_map(Attribute::Bool),
        any::<i64>().prop_map(Attribute::i64),
        (-1000i64..1000).prop_map(|v| Attribute::Int(v, Type::int(16, Signedness::Signed))),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Attribute::f64),
        any::<f32>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| Attribute::Float(v as f64, Type::f32())),
        "[ -~]{0,30}".prop_map(|s: String| Attribute::Str(s.into())),
        "[a-z][a-z0-9_]{0,6}".prop_map(|s| Attribute::SymbolRef(s.as_str().into())),
        tensor_type().prop_map(Attribute::Type),
        (prop::collection::vec(1i64..4, 1..3)).prop_flat_map(|shape| {
            let n = shape.iter().product::<i64>() as usize;
            prop::collection::vec(-100.0f32..100.0, n).prop_map(move |v| {
                Attribute::dense(
                    Type::tensor(&shape, Type::f32()),
                    DenseValues::Floats(v.into_iter().map(f64::from).collect()),
                )
            })
        }),
        "[a-z]{1,6}".prop_map(|k| Attribute::DenseResource {
            key: k.as_str().into(),
            ty: Type::tensor(&[2], Type::f32())
        }),
    ]
}

fn attr() -> impl Strategy<Value = Attribute> {
    leaf_attr().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Attribute::Array),
            prop::collection::btree_map("[a-z][a-z_]{0,4}", inner, 0..3).prop_map(|m| {
                Attribute::Dict(m.into_iter().map(|(k, v)| (k.as_str().into(), v)).collect())
            }),
        ]
    })
}

#[derive(Debug, Clone)]
struct RandOp {
    name: String,
    operand_picks: Vec<usize>,
    results: Vec<Type>,
    attrs: Vec<(String, Attribute)>,
    loc: Option<String>,
}

fn rand_op() -> impl Strategy<Value = RandOp> {
    (
        "[a-z]{1,4}\\.[a-z_]{1,6}",
        prop::collection::vec(any::<usize>(), 0..3),
        prop::collection::vec(tensor_type(), 0..3),
        prop::collection::vec(("[a-z][a-z_]{0,5}", attr()), 0..4),
        prop::option::of("[A-Za-z_/0-9]{1,8}"),
    )
        .prop_map(|(name, operand_picks, results, attrs, loc)| RandOp {
            name,
            operand_picks,
            results,
            attrs,
            loc,
        })
}

fn build(args: &[Type], ops: &[RandOp]) -> Module {
    let mut m = Module::new(Some("prop"));
    let body = m.body();
    let (g, block) = builtin::create_graph(&mut m, body, "main", args, &[]);
    let mut values: Vec<ValueId> = m.block(block).args().to_vec();
    for o in ops {
        let operands: Vec<ValueId> = if values.is_empty() {
            Vec::new()
        } else {
            o.operand_picks
                .iter()
                .map(|p| values[p % values.len()])
                .collect()
        };
        let mut spec = OpSpec::new(&o.name).operands(&operands).results(&o.results);
        for (k, v) in &o.attrs {
            spec = spec.attr(k, v.clone());
        }
        if let Some(l) = &o.loc {
            spec = spec.loc(Location::name(l));
        }
        let op = m.create_op(spec);
        m.append_op(block, op);
        values.extend(m.op(op).results().iter().copied());
    }
    let ret = m.create_op(OpSpec::new(builtin::RETURN));
    m.append_op(block, ret);
    let _ = g;
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn print_parse_is_a_fixed_point(args in prop::collection::vec(tensor_type(), 0..3), ops in prop::collection::vec(rand_op(), 0..8)) {
        let mut ctx = Context::new();
        ctx.allow_unregistered = true;
        let m = build(&args, &ops);
        prop_assert!(hailo_ir::verifier::verify(&m, &ctx, m.top()).is_ok());
        for generic in [false, true] {
            let opts = PrintOptions { generic, elide_resources: false };
            let text = print_module(&m, &ctx, opts);
            let reparsed = parse_module(&ctx, "prop.hir", &text).map_err(|d| TestCaseError::fail(format!("{}\n{text}", d.message)))?;
            let again = print_module(&reparsed, &ctx, opts);
            prop_assert_eq!(&text, &again);
            // The other form of the reparsed module equals the other form of the original.
            let other = PrintOptions { generic: !generic, elide_resources: false };
            prop_assert_eq!(print_module(&m, &ctx, other), print_module(&reparsed, &ctx, other));
        }
    }

    /// Damaged text (truncated, bytes cut out, a stray syntax character
    /// inserted) is rejected with a diagnostic or parsed; it never panics,
    /// and whatever parses can be verified and printed.
    #[test]
    fn damaged_text_never_panics(
        args in prop::collection::vec(tensor_type(), 0..3),
        ops in prop::collection::vec(rand_op(), 1..6),
        generic in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3usize, 0..4usize, prop::sample::select(&b"{}()<>[],:=%@#!\"\n x0-^?"[..])), 1..4),
    ) {
        let mut ctx = Context::new();
        ctx.allow_unregistered = true;
        let m = build(&args, &ops);
        let opts = PrintOptions { generic, elide_resources: false };
        let mut text = print_module(&m, &ctx, opts).into_bytes();
        for (at, kind, len, byte) in edits {
            let at = at.index(text.len() + 1);
            match kind {
                0 => text.truncate(at),
                1 => {
                    let end = (at + len + 1).min(text.len());
                    text.drain(at..end);
                }
                _ => text.insert(at, byte),
            }
        }
        // The printed text is ASCII, so every edit leaves valid UTF-8.
        let text = String::from_utf8(text).expect("ASCII stays UTF-8");
        if let Ok(parsed) = parse_module(&ctx, "damaged.hir", &text) {
            let _ = hailo_ir::verifier::verify(&parsed, &ctx, parsed.top());
            let _ = print_module(&parsed, &ctx, opts);
        }
    }
}

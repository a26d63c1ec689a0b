//! Property: any syntax tree prints to text that parses back to the same tree.

use hailo_alls::ast::{Arg, Name, Script, Statement, Targets, Value, ValueKind};
use hailo_alls::lexer::{DurationUnit, Quote};
use hailo_alls::{parse, Span};
use proptest::prelude::*;

fn name(text: String) -> Name {
    Name {
        text,
        span: Span::default(),
    }
}

fn value(kind: ValueKind) -> Value {
    Value {
        kind,
        span: Span::default(),
    }
}

fn word() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}(/[a-z0-9_.-]{1,6})?".prop_filter("keywords", |w| {
        !["True", "False", "None"].contains(&w.as_str())
    })
}

fn scalar() -> impl Strategy<Value = ValueKind> {
    prop_oneof![
        word().prop_map(ValueKind::Word),
        "[a-z_*?]{1,5}(\\[0-9\\])?".prop_map(ValueKind::Glob),
        ("[ -~]{0,8}", any::<bool>())
            .prop_map(|(s, d)| ValueKind::Str(s, if d { Quote::Double } else { Quote::Single })),
        any::<i64>().prop_map(ValueKind::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(ValueKind::Float),
        (
            0u64..100_000,
            prop_oneof![
                Just(DurationUnit::Seconds),
                Just(DurationUnit::Minutes),
                Just(DurationUnit::Hours)
            ]
        )
            .prop_map(|(n, u)| ValueKind::Duration(n, u)),
        any::<bool>().prop_map(ValueKind::Bool),
        Just(ValueKind::None),
    ]
}

fn any_value() -> impl Strategy<Value = ValueKind> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        prop::collection::vec(inner.prop_map(value), 0..4).prop_map(ValueKind::List)
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    let targets = prop_oneof![
        Just(None),
        Just(Some(Targets::Empty(Span::default()))),
        prop::collection::vec(word().prop_map(name), 1..4).prop_map(|n| Some(Targets::Names(n))),
    ];
    let positional = prop::collection::vec(any_value(), 0..3);
    let keywords = prop::collection::vec((word(), any_value()), 0..3);
    (
        targets,
        prop::option::of("[a-z_][a-z0-9_]{0,6}"),
        "[a-z_][a-z0-9_]{0,8}",
        positional,
        keywords,
    )
        .prop_map(|(targets, scope, command, positional, keywords)| {
            let args = positional
                .into_iter()
                .map(|v| Arg {
                    key: None,
                    value: value(v),
                    span: Span::default(),
                })
                .chain(keywords.into_iter().map(|(k, v)| Arg {
                    key: Some(name(k)),
                    value: value(v),
                    span: Span::default(),
                }))
                .collect();
            Statement {
                targets,
                scope: scope.map(name),
                command: name(command),
                args,
                span: Span::default(),
            }
        })
}

proptest! {
    #[test]
    fn printed_trees_parse_back(statements in prop::collection::vec(statement(), 0..5)) {
        let script = Script { statements };
        let text = script.to_string();
        let (parsed, errors) = parse(&text);
        prop_assert!(errors.is_empty(), "{text}\n{errors:?}");
        prop_assert_eq!(parsed.to_string(), text);
    }
}

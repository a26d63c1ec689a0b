//! Checking parsed statements against the command tables.
//!
//! [`check`] turns a [`Script`] into a [`ModelScript`]: each statement becomes a typed command
//! (arguments matched to the table's parameters, converted and constraint-checked) or, for commands,
//! features and keys the tables don't know, is kept as raw data with a warning (an error under
//! `strict`), because the DFC adds commands every release.

use crate::ast::{Arg, Script, Statement, Targets, ValueKind};
use crate::diagnostic::{did_you_mean, Diagnostic, Severity};
use crate::source::Span;
use crate::spec::{self, CommandSpec, Constraint, FeatureSpec, ParamSpec, Returns, Stage};
use crate::value::{convert, TypedValue};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Unknown commands, features, keys and enum values are errors instead of warnings.
    pub strict: bool,
}

/// A checked model script: every statement, typed where the tables know it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelScript {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The statement as written (targets, scope, raw arguments, span).
    pub statement: Statement,
    /// `None` when the command or its feature is unknown: the statement is kept as raw data.
    pub typed: Option<TypedCommand>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypedCommand {
    pub spec: &'static CommandSpec,
    pub feature: Option<&'static FeatureSpec>,
    /// True when the feature's per-layer table applied (`layers=` given).
    pub per_layer: bool,
    pub args: Vec<TypedArg>,
    /// Keyword arguments the tables don't know, kept as written.
    pub unknown: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypedArg {
    pub param: &'static ParamSpec,
    pub value: TypedValue,
    pub span: Span,
}

impl TypedCommand {
    pub fn get(&self, name: &str) -> Option<&TypedValue> {
        self.args
            .iter()
            .find(|a| a.param.name == name)
            .map(|a| &a.value)
    }

    pub fn stage(&self) -> Stage {
        self.spec.stage
    }
}

impl ModelScript {
    /// Typed commands consumed by one stage, in script order.
    pub fn for_stage(&self, stage: Stage) -> impl Iterator<Item = (&Statement, &TypedCommand)> {
        self.commands.iter().filter_map(move |c| {
            c.typed
                .as_ref()
                .filter(|t| t.stage() == stage)
                .map(|t| (&c.statement, t))
        })
    }
}

/// Checks every statement; returns the typed script and the diagnostics in source order.
pub fn check(script: &Script, options: CheckOptions) -> (ModelScript, Vec<Diagnostic>) {
    let mut checker = Checker {
        options,
        diags: Vec::new(),
        scopes: BTreeSet::new(),
    };
    let commands = script
        .statements
        .iter()
        .map(|s| Command {
            statement: s.clone(),
            typed: checker.statement(s),
        })
        .collect();
    let mut diags = checker.diags;
    diags.sort_by_key(|d| d.span.start);
    (ModelScript { commands }, diags)
}

struct Checker {
    options: CheckOptions,
    diags: Vec<Diagnostic>,
    /// Names bound by `context(...)` / `network_group(...)`, usable as `name.command(...)`.
    scopes: BTreeSet<String>,
}

/// The parameters one statement is matched against.
struct Table {
    positional: Vec<&'static ParamSpec>,
    keywords: Vec<&'static ParamSpec>,
    constraints: &'static [Constraint],
    /// Name used in messages: `cmd` or `cmd(feature)`.
    title: String,
}

impl Checker {
    /// Reports something the tables don't know: a warning (the statement keeps it as raw data), or
    /// an error under `strict`.
    fn unknown(&mut self, mut d: Diagnostic) {
        if self.options.strict {
            d.severity = Severity::Error;
        } else {
            d.severity = Severity::Warning;
            d.message.push_str(", kept as written");
        }
        self.diags.push(d);
    }

    fn statement(&mut self, s: &Statement) -> Option<TypedCommand> {
        let name = &s.command.text;
        let Some(spec) = spec::command(name) else {
            self.unknown(Diagnostic::warning(
                s.command.span,
                format!("unknown command `{name}`"),
                format!(
                    "expected a command from the user guide (§5.3.3, §5.4.2){}",
                    did_you_mean(name, spec::COMMANDS.iter().map(|c| c.name))
                ),
            ));
            return None;
        };
        self.scope_and_targets(s, spec);
        let mut positional: &[Arg] = &s.args;
        let mut feature = None;
        let mut per_layer = false;
        let table = if spec.features.is_empty() {
            Table {
                positional: spec.positional.iter().collect(),
                keywords: spec.positional.iter().chain(spec.keywords).collect(),
                constraints: spec.constraints,
                title: spec.name.to_string(),
            }
        } else {
            let f = self.feature(s, spec)?;
            feature = Some(f);
            positional = &s.args[1..];
            let has_layers = s
                .args
                .iter()
                .any(|a| a.key.as_ref().is_some_and(|k| k.text == "layers"));
            per_layer = has_layers && f.per_layer.is_some();
            let params = if per_layer {
                f.per_layer.unwrap_or(f.params)
            } else {
                f.params
            };
            Table {
                positional: Vec::new(),
                keywords: params.iter().collect(),
                constraints: f.constraints,
                title: format!("{}({})", spec.name, f.name),
            }
        };
        let positional: Vec<&Arg> = positional.iter().filter(|a| a.key.is_none()).collect();
        let keyword: Vec<&Arg> = s.args.iter().filter(|a| a.key.is_some()).collect();
        let mut args = Vec::new();
        let mut unknown = Vec::new();
        let mut ok = self.keywords(&table, &keyword, &mut args, &mut unknown);
        ok &= self.positionals(s, &table, &positional, &mut args);
        if ok {
            self.missing_required(s, &table, &args);
            self.constraints(s, &table, &args);
        }
        Some(TypedCommand {
            spec,
            feature,
            per_layer,
            args,
            unknown,
        })
    }

    fn scope_and_targets(&mut self, s: &Statement, spec: &'static CommandSpec) {
        if let Some(scope) = &s.scope {
            if !spec.scoped {
                self.diags.push(Diagnostic::error(
                    scope.span,
                    format!("`{}` cannot be scoped to `{}`", spec.name, scope.text),
                    format!("expected `{}(...)` without a `name.` prefix", spec.name),
                ));
            } else if !self.scopes.contains(&scope.text) {
                self.diags.push(Diagnostic::error(
                    scope.span,
                    format!("unknown context `{}`", scope.text),
                    format!(
                        "expected a name bound earlier by `{} = context([...])`{}",
                        scope.text,
                        did_you_mean(&scope.text, self.scopes.iter().map(String::as_str))
                    ),
                ));
            }
        }
        let Some(Targets::Names(names)) = &s.targets else {
            return;
        };
        let (Some(first), Some(last)) = (names.first(), names.last()) else {
            return;
        };
        match spec.returns {
            Returns::Nothing => self.diags.push(Diagnostic::error(
                first.span.to(last.span),
                format!(
                    "`{}` does not create layers, so nothing can be assigned",
                    spec.name
                ),
                format!("expected `{}(...)` without `... =`", spec.name),
            )),
            Returns::One if names.len() > 1 => self.diags.push(Diagnostic::error(
                names[1].span.to(last.span),
                format!(
                    "`{}` creates one layer, but {} names are assigned",
                    spec.name,
                    names.len()
                ),
                "expected a single name before `=`",
            )),
            _ => {}
        }
        if spec.name == "context" || spec.name == "network_group" {
            self.scopes.extend(names.iter().map(|n| n.text.clone()));
        }
    }

    /// The feature named by the first argument of a feature command.
    fn feature(
        &mut self,
        s: &Statement,
        spec: &'static CommandSpec,
    ) -> Option<&'static FeatureSpec> {
        let names = || spec.features.iter().map(|f| f.name);
        let expected = || {
            let all: Vec<_> = names().map(|n| format!("`{n}`")).collect();
            format!("expected a sub-command: one of {}", all.join(", "))
        };
        let first = s.args.first().filter(|a| a.key.is_none());
        let Some(Arg { value, .. }) = first else {
            let at = s.args.first().map_or(s.command.span, |a| a.span);
            self.diags.push(Diagnostic::error(
                at,
                format!("`{}` needs a sub-command as its first argument", spec.name),
                expected(),
            ));
            return None;
        };
        let ValueKind::Word(w) = &value.kind else {
            self.diags.push(Diagnostic::error(
                value.span,
                format!(
                    "invalid sub-command {} for `{}`",
                    value.kind.describe(),
                    spec.name
                ),
                expected(),
            ));
            return None;
        };
        let f = spec.feature(w);
        if f.is_none() {
            self.unknown(Diagnostic::warning(
                value.span,
                format!("unknown `{}` sub-command `{w}`", spec.name),
                format!("{}{}", expected(), did_you_mean(w, names())),
            ));
        }
        f
    }

    fn keywords(
        &mut self,
        table: &Table,
        keyword: &[&Arg],
        args: &mut Vec<TypedArg>,
        unknown: &mut Vec<Arg>,
    ) -> bool {
        let mut ok = true;
        let mut seen: Vec<&str> = Vec::new();
        for arg in keyword {
            let Some(key) = &arg.key else { continue };
            if seen.contains(&key.text.as_str()) {
                self.diags.push(Diagnostic::error(
                    key.span,
                    format!("`{}` is given twice", key.text),
                    "expected each parameter once",
                ));
                ok = false;
                continue;
            }
            seen.push(&key.text);
            let Some(param) = table.keywords.iter().find(|p| p.name == key.text) else {
                let names: Vec<_> = table.keywords.iter().map(|p| p.name).collect();
                self.unknown(Diagnostic::warning(
                    key.span,
                    format!("unknown parameter `{}` for `{}`", key.text, table.title),
                    format!(
                        "expected one of {}{}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        did_you_mean(&key.text, names.iter().copied())
                    ),
                ));
                unknown.push((*arg).clone());
                continue;
            };
            match self.convert(param, arg) {
                Some(a) => args.push(a),
                None => ok = false,
            }
        }
        ok
    }

    fn convert(&mut self, param: &'static ParamSpec, arg: &Arg) -> Option<TypedArg> {
        let mut warnings = Vec::new();
        let value = typed_value(param, arg, &mut warnings);
        for w in warnings {
            self.unknown(w);
        }
        match value {
            Ok(value) => Some(TypedArg {
                param,
                value,
                span: arg.value.span,
            }),
            Err(e) => {
                self.diags.push(e);
                None
            }
        }
    }

    /// Matches positional arguments to the positional parameters not given by keyword. With fewer
    /// arguments than parameters, optional parameters are dropped (the last ones first) until every
    /// value type-checks; the first fully matching choice wins.
    fn positionals(
        &mut self,
        s: &Statement,
        table: &Table,
        given: &[&Arg],
        args: &mut Vec<TypedArg>,
    ) -> bool {
        let taken: Vec<&str> = args.iter().map(|a| a.param.name).collect();
        let avail: Vec<&'static ParamSpec> = table
            .positional
            .iter()
            .copied()
            .filter(|p| !taken.contains(&p.name))
            .collect();
        if given.len() > avail.len() {
            let extra = given[avail.len()];
            let names: Vec<_> = avail.iter().map(|p| format!("`{}`", p.name)).collect();
            self.diags.push(Diagnostic::error(
                extra.span,
                format!("too many positional arguments for `{}`", table.title),
                if names.is_empty() {
                    "expected `name=value` keyword arguments only".to_string()
                } else {
                    format!(
                        "expected at most {} positional: {}",
                        names.len(),
                        names.join(", ")
                    )
                },
            ));
            return false;
        }
        let optional: Vec<usize> = (0..avail.len()).filter(|&i| !avail[i].required).collect();
        let drop = avail.len() - given.len();
        if drop > optional.len() {
            // Not enough arguments even with every optional parameter left out: report the first
            // required parameter that gets no value.
            let kept: Vec<usize> = (0..avail.len()).filter(|&i| avail[i].required).collect();
            let missing = avail[kept[given.len()]];
            self.diags.push(missing_arg(s, table, missing));
            return false;
        }
        let mut best: Option<(usize, Diagnostic)> = None;
        for omit in omissions(&optional, drop) {
            let params: Vec<_> = (0..avail.len())
                .filter(|i| !omit.contains(i))
                .map(|i| avail[i])
                .collect();
            let mut warnings = Vec::new();
            let mut typed = Vec::new();
            let mut failure = None;
            for (k, (param, arg)) in params.iter().zip(given).enumerate() {
                match typed_value(param, arg, &mut warnings) {
                    Ok(value) => typed.push(TypedArg {
                        param,
                        value,
                        span: arg.value.span,
                    }),
                    Err(e) => {
                        failure = Some((k, e));
                        break;
                    }
                }
            }
            match failure {
                None => {
                    for w in warnings {
                        self.unknown(w);
                    }
                    args.extend(typed);
                    return true;
                }
                Some((k, e)) => {
                    if best.as_ref().is_none_or(|(bk, _)| k > *bk) {
                        best = Some((k, e));
                    }
                }
            }
        }
        if let Some((_, e)) = best {
            self.diags.push(e);
        }
        false
    }

    fn missing_required(&mut self, s: &Statement, table: &Table, args: &[TypedArg]) {
        let params = table.positional.iter().chain(&table.keywords);
        let mut reported = BTreeSet::new();
        for p in params {
            if p.required && !args.iter().any(|a| a.param.name == p.name) && reported.insert(p.name)
            {
                self.diags.push(missing_arg(s, table, p));
            }
        }
    }

    fn constraints(&mut self, s: &Statement, table: &Table, args: &[TypedArg]) {
        let get = |name: &str| {
            args.iter()
                .find(|a| a.param.name == name && a.value != TypedValue::None)
        };
        for c in table.constraints {
            let problem = match *c {
                Constraint::SameLength(a, b) => match (get(a), get(b)) {
                    (Some(x), Some(y)) => {
                        let (lx, ly) = (list_len(&x.value), list_len(&y.value));
                        (lx != ly).then(|| {
                            Diagnostic::error(
                                y.span,
                                format!("`{b}` has {ly} item(s) but `{a}` has {lx}"),
                                format!("expected one item per item of `{a}`"),
                            )
                        })
                    }
                    _ => None,
                },
                Constraint::RequiredWhen {
                    param,
                    when,
                    values,
                } => match get(when) {
                    Some(w)
                        if get(param).is_none()
                            && w.value.as_word().is_some_and(|v| values.contains(&v)) =>
                    {
                        Some(Diagnostic::error(
                            w.span,
                            format!(
                                "`{param}` is required when `{when}={}`",
                                w.value.as_word().unwrap_or_default()
                            ),
                            format!("expected `{param}=...` in `{}`", table.title),
                        ))
                    }
                    _ => None,
                },
                Constraint::Excludes { param, with } => get(param).and_then(|_| {
                    with.iter().find_map(|w| get(w)).map(|x| {
                        Diagnostic::error(
                            x.span,
                            format!("`{}` cannot be combined with `{param}`", x.param.name),
                            format!("expected the value inside the file given as `{param}`"),
                        )
                    })
                }),
                Constraint::RangeAroundZero(p) => get(p).and_then(|x| {
                    let v = floats(&x.value);
                    (v.len() == 2 && !(v[0] <= 0.0 && 0.0 <= v[1] && v[0] < v[1])).then(|| {
                        Diagnostic::error(
                            x.span,
                            format!("invalid range for `{p}`"),
                            "expected [min, max] with min <= 0 <= max and min < max",
                        )
                    })
                }),
                Constraint::RequiredUnlessScoped(p) => (s.scope.is_none() && get(p).is_none())
                    .then(|| {
                        table
                            .positional
                            .iter()
                            .chain(&table.keywords)
                            .find(|x| x.name == p)
                    })
                    .flatten()
                    .map(|param| missing_arg(s, table, param)),
                Constraint::Increasing(p) => get(p).and_then(|x| {
                    let v = floats(&x.value);
                    (v.len() == 2 && v[0] >= v[1]).then(|| {
                        Diagnostic::error(
                            x.span,
                            format!("invalid range for `{p}`"),
                            "expected [min, max] with min < max",
                        )
                    })
                }),
                Constraint::WithinBudget(p) => get(p).and_then(|x| {
                    let dims = floats(&x.value).into_iter().map(|v| v.max(0.0) as u64);
                    hailo_guard::limits::check_elements(dims).err().map(|e| {
                        Diagnostic::error(
                            x.span,
                            format!("`{p}` is too large: {e}"),
                            "expected a shape a Hailo-8 network can hold",
                        )
                    })
                }),
                Constraint::NonZero(p) => get(p).and_then(|x| {
                    floats(&x.value).contains(&0.0).then(|| {
                        Diagnostic::error(
                            x.span,
                            format!("`{p}` contains a zero"),
                            "expected non-zero values (the input is divided by them)",
                        )
                    })
                }),
            };
            self.diags.extend(problem);
        }
    }
}

/// `None` for an optional parameter means "use the default"; anything else converts by type.
fn typed_value(
    param: &ParamSpec,
    arg: &Arg,
    warnings: &mut Vec<Diagnostic>,
) -> Result<TypedValue, Diagnostic> {
    if arg.value.kind == ValueKind::None && !param.required {
        return Ok(TypedValue::None);
    }
    convert(&param.ty, &arg.value, param.name, warnings)
}

fn missing_arg(s: &Statement, table: &Table, p: &ParamSpec) -> Diagnostic {
    let close = Span::new(s.span.end.saturating_sub(1), s.span.end);
    Diagnostic::error(
        close,
        format!("missing argument `{}` for `{}`", p.name, table.title),
        format!("expected `{}`: {}", p.name, crate::value::describe(&p.ty)),
    )
}

fn list_len(v: &TypedValue) -> usize {
    match v {
        TypedValue::List(items) => items.len(),
        TypedValue::Layers(crate::selector::LayerSelector::List(items)) => items.len(),
        _ => 1,
    }
}

fn floats(v: &TypedValue) -> Vec<f64> {
    v.as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(TypedValue::as_f64)
        .collect()
}

/// Every way to leave out `count` of the `optional` parameter indices, preferring to leave out
/// later parameters first.
fn omissions(optional: &[usize], count: usize) -> Vec<Vec<usize>> {
    fn rec(rest: &[usize], count: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if count == 0 {
            out.push(current.clone());
            return;
        }
        for (i, &idx) in rest.iter().enumerate().rev() {
            if i + 1 < count {
                break;
            }
            current.push(idx);
            rec(&rest[..i], count - 1, current, out);
            current.pop();
        }
    }
    let mut out = Vec::new();
    rec(optional, count, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::omissions;

    #[test]
    fn omissions_prefer_dropping_later_parameters() {
        assert_eq!(omissions(&[0, 3, 4], 1), vec![vec![4], vec![3], vec![0]]);
        assert_eq!(
            omissions(&[0, 3, 4], 2),
            vec![vec![4, 3], vec![4, 0], vec![3, 0]]
        );
        assert_eq!(omissions(&[0, 3], 0), vec![Vec::<usize>::new()]);
    }
}

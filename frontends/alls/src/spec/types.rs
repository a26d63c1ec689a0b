//! The vocabulary of the command tables: parameter types, defaults, constraints.
//!
//! Each model script command is described once, declaratively, by a [`CommandSpec`]; the checker in
//! [`crate::typed`] interprets these descriptions, so adding a command or a parameter is a table
//! edit, not new code.

/// A numeric bound as the guide writes it (`0<x`, `0<=x`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    None,
    Inclusive(f64),
    Exclusive(f64),
}

/// How a parameter's value must look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    /// Integer with inclusive bounds.
    Int { min: Option<i64>, max: Option<i64> },
    /// Float (integers accepted) within bounds.
    Float { min: Bound, max: Bound },
    /// `True` / `False`.
    Bool,
    /// A feature policy: `enabled` / `disabled` / `allowed`; `True` / `False` mean enabled / disabled.
    Policy,
    /// One of the listed words (case-insensitive; stored in the table's spelling).
    Enum(&'static [&'static str]),
    /// Like `Enum`, but the guide's list is not exhaustive: other words are kept with a warning.
    OpenEnum(&'static [&'static str]),
    /// A quoted string or a bare word.
    Str,
    /// Seconds, as an integer or a duration with an `s`/`m`/`h` suffix.
    Duration,
    /// One layer name (or a name bound earlier in the script).
    Layer,
    /// A layer selector: a name, a `[list]` of names, or a `{glob}`.
    Layers,
    /// A name that is not a layer (network name, substring); kept as written.
    Name,
    /// A `[list]` of the element type, optionally with an exact length.
    List(&'static Ty, Option<usize>),
    /// A single element or a `[list]` of them.
    OneOrList(&'static Ty),
    /// The first alternative that accepts the value.
    Choice(&'static [Ty]),
    /// The inner type's bounds are the guide's, but scripts in the wild exceed them: a value out of
    /// range is kept with a warning instead of rejected.
    Advisory(&'static Ty),
}

/// A parameter's default as the guide states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// No default: absent means "not set" (`None` in the guide).
    Unset,
    Int(i64),
    Float(f64),
    Bool(bool),
    Word(&'static str),
    FloatList(&'static [f64]),
    /// The default depends on other settings; the text says how.
    Described(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Default,
    pub required: bool,
    pub doc: &'static str,
}

/// What a command returns (the names left of `=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// A configuration command: no targets allowed.
    Nothing,
    /// At most one new layer name.
    One,
    /// Any number of new layer names (one per input/output, or one per defused part).
    Many,
}

/// Which compiler stage consumes a command (guide §5.2: each stage only considers its commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Model modification commands, applied by `optimize` before quantization (full precision).
    ModelModification,
    /// Quantization / numerical optimization.
    Optimization,
    /// Resource allocation and HEF building.
    Compilation,
}

/// A rule spanning several parameters of one command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Constraint {
    /// Two list parameters must have the same length when both are given.
    SameLength(&'static str, &'static str),
    /// `param` is required when `when` is one of `values`.
    RequiredWhen {
        param: &'static str,
        when: &'static str,
        values: &'static [&'static str],
    },
    /// `param` must not be given together with any of `with`.
    Excludes {
        param: &'static str,
        with: &'static [&'static str],
    },
    /// `[min, max]` with `min <= 0 <= max` and `min < max`.
    RangeAroundZero(&'static str),
    /// `param` is required unless the command is scoped (`context_0.compilation_param(...)`).
    RequiredUnlessScoped(&'static str),
    /// `[a, b]` with `a < b`.
    Increasing(&'static str),
    /// No element of the list may be zero.
    NonZero(&'static str),
    /// The list is a shape: its product must fit the tensor element budget
    /// ([`hailo_guard::limits::max_elements`]).
    WithinBudget(&'static str),
}

/// A sub-command of `model_optimization_config` / `pre_` / `post_quantization_optimization`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureSpec {
    pub name: &'static str,
    pub params: &'static [ParamSpec],
    /// The per-layer variant's parameters, used when `layers=` is given (guide: "... per-layer").
    pub per_layer: Option<&'static [ParamSpec]>,
    pub constraints: &'static [Constraint],
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandSpec {
    pub name: &'static str,
    pub stage: Stage,
    pub returns: Returns,
    /// Whether `scope.command(...)` is allowed (e.g. `context_0.place(...)`).
    pub scoped: bool,
    /// Positional parameters in order. Optional ones may be left out; when fewer arguments are
    /// given, the checker drops optional parameters (last first) until the values type-check.
    pub positional: &'static [ParamSpec],
    pub keywords: &'static [ParamSpec],
    /// Non-empty for commands whose first argument names a feature.
    pub features: &'static [FeatureSpec],
    pub constraints: &'static [Constraint],
}

/// Table shorthand: an optional parameter.
pub const fn opt(name: &'static str, ty: Ty, default: Default, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        default,
        required: false,
        doc,
    }
}

/// Table shorthand: a required parameter.
pub const fn req(name: &'static str, ty: Ty, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        default: Default::Unset,
        required: true,
        doc,
    }
}

/// Integer in `min..=max` (either side open when `None`).
pub const fn int(min: Option<i64>, max: Option<i64>) -> Ty {
    Ty::Int { min, max }
}

/// Float in the given bounds.
pub const fn float(min: Bound, max: Bound) -> Ty {
    Ty::Float { min, max }
}

pub const ANY_FLOAT: Ty = float(Bound::None, Bound::None);
pub const ANY_INT: Ty = int(None, None);
pub const POSITIVE_INT: Ty = int(Some(1), None);
pub const NON_NEGATIVE_INT: Ty = int(Some(0), None);
pub const UNIT_FLOAT: Ty = float(Bound::Inclusive(0.0), Bound::Inclusive(1.0));
pub const ALLOWED_ENABLED_DISABLED: Ty = Ty::Enum(&["allowed", "enabled", "disabled"]);
pub const ENABLED_DISABLED: Ty = Ty::Enum(&["enabled", "disabled"]);

/// `layers=`: the layers a feature or parameter applies to.
pub const LAYERS: ParamSpec = opt(
    "layers",
    Ty::Layers,
    Default::Unset,
    "Layers to apply to: a name, a [list] or a {glob}",
);

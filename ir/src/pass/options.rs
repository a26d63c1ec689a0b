//! Typed pass options: declared with [`crate::pass_options!`], parsed from
//! pipeline text, printed back in the same form.
//!
//! Pipeline text carries untyped words and lists ([`RawValue`]); each word
//! is converted to JSON by the option's declared Rust type and the whole
//! object is deserialized with serde (kebab-case keys, unknown keys
//! rejected, missing keys defaulted).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// One option as `--list-passes` shows it.
#[derive(Clone, Debug)]
pub struct OptionInfo {
    pub name: &'static str,
    pub ty: &'static str,
    pub default: String,
    pub help: &'static str,
}

pub trait PassOptions: Serialize + DeserializeOwned + Default + 'static {
    fn describe() -> Vec<OptionInfo>;
}

/// Options of passes that take none.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

impl PassOptions for NoOptions {
    fn describe() -> Vec<OptionInfo> {
        Vec::new()
    }
}

/// An option value as written in pipeline text.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    Word(String),
    List(Vec<RawValue>),
}

fn inner_of<'a>(ty: &'a str, wrapper: &str) -> Option<&'a str> {
    ty.strip_prefix(wrapper)?
        .strip_prefix('<')?
        .strip_suffix('>')
        .map(str::trim)
}

fn to_json(raw: &RawValue, ty: &str) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    if let Some(inner) = inner_of(ty, "Option") {
        return to_json(raw, inner);
    }
    if let Some(inner) = inner_of(ty, "Vec") {
        return match raw {
            RawValue::List(items) => items
                .iter()
                .map(|i| to_json(i, inner))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            RawValue::Word(w) if w.is_empty() => Ok(Value::Array(Vec::new())),
            RawValue::Word(w) => Ok(Value::Array(vec![to_json(
                &RawValue::Word(w.clone()),
                inner,
            )?])),
        };
    }
    let RawValue::Word(w) = raw else {
        return Err(format!("expected a single {ty} value, found a list"));
    };
    match ty {
        "bool" => match w.as_str() {
            "true" | "1" | "" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, found '{w}'")),
        },
        "u8" | "u16" | "u32" | "u64" | "usize" => w
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("expected a non-negative integer, found '{w}'")),
        "i8" | "i16" | "i32" | "i64" | "isize" => w
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, found '{w}'")),
        "f32" | "f64" => w
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, found '{w}'")),
        _ => Ok(Value::String(w.clone())),
    }
}

/// Builds typed options from `key=value` pairs; errors name the key.
pub fn parse_options<O: PassOptions>(raw: &[(String, RawValue)]) -> Result<O, String> {
    let infos = O::describe();
    let mut obj = serde_json::Map::new();
    for (k, v) in raw {
        let Some(info) = infos.iter().find(|i| i.name == k) else {
            let known: Vec<&str> = infos.iter().map(|i| i.name).collect();
            let hint = crate::pass::registry::closest(k, known.iter().copied())
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            return Err(if known.is_empty() {
                format!("unknown option '{k}': this pass takes no options")
            } else {
                format!("unknown option '{k}' (known: {}){hint}", known.join(", "))
            });
        };
        let json = to_json(v, info.ty).map_err(|e| format!("option '{k}': {e}"))?;
        obj.insert(k.clone(), json);
    }
    serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| format!("invalid options: {e}"))
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(json_text).collect::<Vec<_>>().join(",")
            )
        }
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `{a=1 b=[1,2]}` in declaration order, or `""` when the pass has no options.
pub fn print_options<O: PassOptions>(o: &O) -> String {
    let infos = O::describe();
    if infos.is_empty() {
        return String::new();
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(o) else {
        return String::new();
    };
    let parts: Vec<String> = infos
        .iter()
        .filter_map(|i| {
            map.get(i.name)
                .filter(|v| !v.is_null())
                .map(|v| format!("{}={}", i.name, json_text(v)))
        })
        .collect();
    format!("{{{}}}", parts.join(" "))
}

/// The default value of every option, as pipeline text would write it.
pub fn default_texts<O: PassOptions>() -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(O::default()) else {
        return Vec::new();
    };
    map.into_iter().map(|(k, v)| (k, json_text(&v))).collect()
}

/// Declares a pass option struct: serde with kebab-case keys, unknown keys
/// rejected, each field defaulted, and a description for `--list-passes`.
///
/// ```ignore
/// pass_options! {
///     pub struct CanonicalizeOptions {
///         /// Upper bound on rewrites.
///         max_iterations: u64 = 10,
///     }
/// }
/// ```
#[macro_export]
macro_rules! pass_options {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
        $vis struct $name {
            $( $(#[doc = $doc])* pub $field : $ty ),*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field : $default ),* }
            }
        }

        impl $crate::pass::PassOptions for $name {
            fn describe() -> Vec<$crate::pass::OptionInfo> {
                let defaults = $crate::pass::options::default_texts::<$name>();
                vec![$(
                    {
                        let key = stringify!($field).replace('_', "-");
                        let default = defaults.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()).unwrap_or_default();
                        $crate::pass::OptionInfo {
                            name: Box::leak(key.into_boxed_str()),
                            ty: stringify!($ty),
                            default,
                            help: concat!($($doc),*).trim_start(),
                        }
                    }
                ),*]
            }
        }
    };
}

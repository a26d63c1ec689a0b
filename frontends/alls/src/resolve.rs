//! Resolving layer selectors against a model's layer names.
//!
//! The HAR/IR stages call this with the model's layer names and the map from original (TF/ONNX)
//! names to model names. A name matches a model layer exactly, or by its name inside its network
//! (`conv1` matches `yolov5s/conv1` when unique). Globs match either form. Names created by earlier
//! statements (`shortcut1 = shortcut(...)`, defuse outputs) and `x = from_tf('orig')` aliases are
//! in scope for the statements after them. Every failure is a located diagnostic.

use crate::ast::Targets;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::selector::{LayerRef, LayerSelector};
use crate::source::Span;
use crate::typed::ModelScript;
use crate::value::TypedValue;
use std::collections::{BTreeMap, BTreeSet};

/// The layers one typed command refers to, per parameter, as model (or script-created) names.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedCommand {
    /// Index into [`ModelScript::commands`].
    pub index: usize,
    pub layers: Vec<(&'static str, Vec<String>)>,
}

/// The names a script can refer to at one point of the script.
#[derive(Debug, Clone)]
pub struct LayerScope {
    /// Model layers, in the caller's order.
    model: Vec<String>,
    model_set: BTreeSet<String>,
    /// Name inside its network (after the first `/`) to full names.
    local: BTreeMap<String, Vec<String>>,
    /// Original (TF/ONNX) name to model name.
    original: BTreeMap<String, String>,
    /// Names created by earlier statements, in order.
    defined: Vec<String>,
    /// `x = from_tf('orig')`: `x` stands for the resolved layer.
    aliases: BTreeMap<String, String>,
}

fn local_name(full: &str) -> Option<&str> {
    full.split_once('/').map(|(_, l)| l)
}

impl LayerScope {
    pub fn new(model_layers: &[String], original_names: &BTreeMap<String, String>) -> Self {
        let mut local: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for l in model_layers {
            if let Some(n) = local_name(l) {
                local.entry(n.to_string()).or_default().push(l.clone());
            }
        }
        LayerScope {
            model: model_layers.to_vec(),
            model_set: model_layers.iter().cloned().collect(),
            local,
            original: original_names.clone(),
            defined: Vec::new(),
            aliases: BTreeMap::new(),
        }
    }

    /// Makes a name created by a statement available to the statements after it.
    pub fn define(&mut self, name: &str) {
        if !self.defined.iter().any(|d| d == name) {
            self.defined.push(name.to_string());
        }
    }

    fn all_names(&self) -> impl Iterator<Item = &str> {
        self.model.iter().chain(&self.defined).map(String::as_str)
    }

    pub fn resolve_name(&self, r: &LayerRef) -> Result<String, Diagnostic> {
        let name = r.name.as_str();
        if let Some(target) = self.aliases.get(name) {
            return Ok(target.clone());
        }
        if self.model_set.contains(name) || self.defined.iter().any(|d| d == name) {
            return Ok(name.to_string());
        }
        match self.local.get(name).map(Vec::as_slice) {
            Some([one]) => Ok(one.clone()),
            Some(many) => Err(Diagnostic::error(
                r.span,
                format!("ambiguous layer `{name}`"),
                format!(
                    "matches {}; expected the full name",
                    many.iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            None => {
                let candidates = self
                    .all_names()
                    .flat_map(|n| [Some(n), local_name(n)])
                    .flatten();
                Err(Diagnostic::error(
                    r.span,
                    format!("unknown layer `{name}`"),
                    format!(
                        "expected a layer of the model or a name created earlier in the script{}",
                        did_you_mean(name, candidates)
                    ),
                ))
            }
        }
    }

    /// Every layer a selector denotes, in model order then script order.
    pub fn resolve(&self, sel: &LayerSelector) -> Result<Vec<String>, Diagnostic> {
        match sel {
            LayerSelector::Name(r) => self.resolve_name(r).map(|n| vec![n]),
            LayerSelector::List(items) => items.iter().map(|r| self.resolve_name(r)).collect(),
            LayerSelector::Glob(g) => {
                let hits: Vec<String> = self
                    .all_names()
                    .filter(|n| g.matches(n) || local_name(n).is_some_and(|l| g.matches(l)))
                    .map(str::to_string)
                    .collect();
                if hits.is_empty() {
                    return Err(Diagnostic::error(
                        g.span,
                        format!("layer glob `{{{}}}` matches no layer", g.pattern),
                        "expected a pattern matching at least one layer of the model",
                    ));
                }
                Ok(hits)
            }
        }
    }

    /// The model layer an original (TF/ONNX) name became.
    pub fn from_tf(&self, original: &str, span: Span) -> Result<String, Diagnostic> {
        self.original.get(original).cloned().ok_or_else(|| {
            Diagnostic::error(
                span,
                format!("unknown original layer name `{original}`"),
                format!(
                    "expected a layer name of the original TF/ONNX model{}",
                    did_you_mean(original, self.original.keys().map(String::as_str))
                ),
            )
        })
    }

    /// Resolves every layer argument of every typed command, in script order, defining the names
    /// each statement creates as it goes.
    pub fn resolve_script(
        &mut self,
        script: &ModelScript,
    ) -> (Vec<ResolvedCommand>, Vec<Diagnostic>) {
        let mut resolved = Vec::new();
        let mut diags = Vec::new();
        for (index, command) in script.commands.iter().enumerate() {
            let mut alias = None;
            if let Some(typed) = &command.typed {
                let mut layers = Vec::new();
                for arg in &typed.args {
                    let result = match (&arg.value, typed.spec.name) {
                        (TypedValue::Layers(sel), _) => self.resolve(sel),
                        (TypedValue::Str(s) | TypedValue::Word(s), "from_tf") => self
                            .from_tf(s, arg.span)
                            .inspect(|n| alias = Some(n.clone()))
                            .map(|n| vec![n]),
                        _ => continue,
                    };
                    match result {
                        Ok(names) => layers.push((arg.param.name, names)),
                        Err(e) => diags.push(e),
                    }
                }
                resolved.push(ResolvedCommand { index, layers });
            }
            if let Some(Targets::Names(names)) = &command.statement.targets {
                for n in names {
                    match &alias {
                        Some(target) => {
                            self.aliases.insert(n.text.clone(), target.clone());
                        }
                        None => self.define(&n.text),
                    }
                }
            }
        }
        (resolved, diags)
    }
}

//! A model script's compilation commands (DFC guide §5.4.2) as the options of the physical
//! passes: the pipeline `hailo compiler` runs up to the physical IR, printable and replayable
//! with `hailo-opt`.
//!
//! | command | becomes |
//! |---|---|
//! | `performance_param(fps=F)` | `quant-to-phys{fps}`, `phys-defuse{fps}` |
//! | `a_d0, ..., a_dc = defuse(a, n[, defuse_type=SPATIAL/INPUT_FEATURES/COMPUTE_LANES])` | `phys-defuse{layers=[a:n:kind]}`; the names on the left must be the ones the pass gives |
//! | `compilation_param(l, number_of_subclusters=n, use_16x4_sc=enabled)` | `phys-assign{subclusters, mode-16x4}` (`n = 0`: the compiler's choice, left alone; `hw_layer_type_list=[ppu]`: 0, the layer runs on the PPU) |
//! | `place(c, [l...])`, `context_k = context([l...])`, `context_k.place(...)` | `phys-assign{clusters, contexts}` |
//! | `s = shortcut(a, [b...])` | `phys-shortcuts{shortcuts=[a:b+...:s]}` |
//! | `p = portal(a, b)`, `l4_portal(a, b)`, `ddr(a, b)` | `phys-shortcuts{portals=[l3/l4/ddr:a:b:p]}` |
//! | `f = format_conversion(a, b, k)` with `k` a layout change `x_to_y` of [`LAYOUTS`] (`tf_rgb_to_hailo_rgb`) | `phys-shortcuts{conversions=[a:b:k:f]}` |
//! | `m = merge(a, b)`, `allocator_param(merge_min_layer_utilization=u)` | `phys-merge{layers=[a+b:m] min-utilization=u}` |
//! | `c = concat([a, b, ...], join)` | `phys-split-concats{partials=[a+b+...:join:c]}` |
//! | `s = feature_splitter(f, [a, b, ...])`, `s = shape_splitter(SPLIT_HEIGHT/WIDTH/FEATURES, f, [a, b, ...])` | `phys-sub-splitters{splitters=[features/height/width:f:a+b+...:s]}` |
//! | `m = output_mux([a, b, ...])` | `phys-output-mux{muxes=[a+b+...:m]}` |
//! | `remove_node(a)` | `phys-remove-nodes{layers=[a]}` (right after `quant-to-phys`: it names the network's layers) |
//! | `buffers(a, b, n1[, n2])`, `allocator_param(automatic_ddr=b)` | `phys-buffers{edges=[a:b:n1[:n2]] automatic-ddr=b}` |
//!
//! then `phys-verify`. Every other compilation command (the shape-changing `format_conversion`s
//! (`spatial_reshape`, `transpose_matmul`, ...; the user guide does not document the command,
//! the vendor's scripts write it), and the `*_param` settings other than the above) is not
//! honoured yet: each gets a located warning, so a user knows the physical graph does not follow
//! it. Layer names are resolved against the model's layers and the names earlier
//! statements define (`hailo_alls::LayerScope`).

use hailo_alls::ast::{Statement, Targets, ValueKind};
use hailo_alls::spec::Stage;
use hailo_alls::value::TypedValue;
use hailo_alls::{check_source, CheckOptions, Diagnostic, LayerScope, SourceFile};
use std::collections::BTreeMap;

/// The boundary layouts a `format_conversion(a, b, x_to_y)` converts between without changing
/// the tensor's shape (the vendor's scripts: `tf_rgb_to_hailo_rgb`, `hailo_rgb_to_f8cr`, ...).
pub const LAYOUTS: [&str; 5] = ["tf_rgb", "hailo_rgb", "f8cr", "lcu", "ppu"];

/// The pipeline a script asks for, and what it could not honour.
#[derive(Debug, Default)]
pub struct PhysScript {
    pub fps: f64,
    defuse: Vec<String>,
    subclusters: Vec<String>,
    mode_16x4: Vec<String>,
    clusters: Vec<String>,
    contexts: Vec<String>,
    merges: Vec<String>,
    merge_min_utilization: Option<f64>,
    automatic_ddr: Option<bool>,
    shortcuts: Vec<String>,
    portals: Vec<String>,
    conversions: Vec<String>,
    removals: Vec<String>,
    muxes: Vec<String>,
    partials: Vec<String>,
    splitters: Vec<String>,
    edges: Vec<String>,
    /// Located warnings (`file:line:col: warning: ...`), in script order.
    pub warnings: Vec<String>,
}

fn list(name: &str, items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| format!("{name}=[{}]", items.join(",")))
}

fn pass(name: &str, options: &[Option<String>]) -> String {
    let o: Vec<&str> = options.iter().flatten().map(String::as_str).collect();
    if o.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", o.join(" "))
    }
}

impl PhysScript {
    /// The `hailo-opt` pipeline from quantized `q` graphs to verified physical graphs. Shortcuts
    /// and partial concats come before `phys-assign`, since a script assigns subclusters,
    /// clusters and contexts to the layers they create too.
    pub fn pipeline(&self) -> String {
        let fps = (self.fps > 0.0).then(|| format!("fps={}", self.fps));
        let passes = [
            pass("quant-to-phys", std::slice::from_ref(&fps)),
            pass("phys-remove-nodes", &[list("layers", &self.removals)]),
            pass("phys-defuse", &[fps.clone(), list("layers", &self.defuse)]),
            pass(
                "phys-shortcuts",
                &[
                    list("shortcuts", &self.shortcuts),
                    list("portals", &self.portals),
                    list("conversions", &self.conversions),
                ],
            ),
            pass("phys-split-concats", &[list("partials", &self.partials)]),
            pass("phys-sub-splitters", &[list("splitters", &self.splitters)]),
            pass(
                "phys-assign",
                &[
                    list("subclusters", &self.subclusters),
                    list("mode-16x4", &self.mode_16x4),
                    list("clusters", &self.clusters),
                    list("contexts", &self.contexts),
                ],
            ),
            pass(
                "phys-merge",
                &[
                    list("layers", &self.merges),
                    self.merge_min_utilization
                        .map(|u| format!("min-utilization={u}")),
                    fps.clone().filter(|_| self.merge_min_utilization.is_some()),
                ],
            ),
            pass("phys-output-mux", &[list("muxes", &self.muxes)]),
            pass(
                "phys-buffers",
                &[
                    list("edges", &self.edges),
                    self.automatic_ddr.map(|b| format!("automatic-ddr={b}")),
                ],
            ),
            "phys-verify".into(),
        ];
        format!("builtin.module(builtin.graph({}))", passes.join(","))
    }
}

/// Reads `text` (named `name` in messages) against the model's layer names. Script errors
/// (syntax, unknown layers, names that differ from the parts defuse makes) are returned rendered.
pub fn read(name: &str, text: &str, layers: &[String]) -> Result<PhysScript, String> {
    let src = SourceFile::new(name, text);
    let checked = check_source(&src, CheckOptions::default());
    let render = |d: &[Diagnostic]| d.iter().map(|d| d.render(&src)).collect::<String>();
    let errors: Vec<Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(render(&errors));
    }
    let (resolved, unresolved) =
        LayerScope::new(layers, &BTreeMap::new()).resolve_script(&checked.script);
    if !unresolved.is_empty() {
        return Err(render(&unresolved));
    }
    let mut out = PhysScript::default();
    let at = |s: &Statement| {
        let (line, col) = src.line_col(s.span.start);
        format!("{name}:{line}:{col}")
    };
    let contexts: BTreeMap<String, usize> = checked
        .script
        .commands
        .iter()
        .filter(|c| c.typed.as_ref().is_some_and(|t| t.spec.name == "context"))
        .filter_map(|c| match &c.statement.targets {
            Some(Targets::Names(n)) => n.first().map(|n| n.text.clone()),
            _ => None,
        })
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    // `format_conversion` is not in the guide's command tables, so the checker keeps it as
    // written: its layers are its first two words, what it converts the third.
    for command in &checked.script.commands {
        let s = &command.statement;
        if command.typed.is_some() || s.command.text != "format_conversion" {
            continue;
        }
        let words: Vec<Option<&str>> = s
            .args
            .iter()
            .map(|a| match (&a.key, &a.value.kind) {
                (None, ValueKind::Word(w)) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        let layout = |k: &str| {
            k.split_once("_to_")
                .is_some_and(|(a, b)| LAYOUTS.contains(&a) && LAYOUTS.contains(&b))
        };
        match (&words[..], &s.targets) {
            ([Some(from), Some(to), Some(kind)], Some(Targets::Names(n))) if layout(kind) => {
                let name = n.first().map_or_else(String::new, |n| format!(":{}", n.text));
                out.conversions.push(format!("{from}:{to}:{kind}{name}"));
            }
            _ => out.warnings.push(format!(
                "{}: warning: a format_conversion other than a layout change ({}) is not honoured yet by the physical passes",
                at(s),
                LAYOUTS.join(", ")
            )),
        }
    }
    for r in resolved {
        let command = &checked.script.commands[r.index];
        let Some(typed) = &command.typed else {
            continue;
        };
        if typed.stage() != Stage::Compilation {
            continue;
        }
        let s = &command.statement;
        let layers = |p: &str| {
            r.layers
                .iter()
                .find(|(n, _)| *n == p)
                .map(|(_, l)| l.clone())
                .unwrap_or_default()
        };
        let first = |p: &str| layers(p).into_iter().next().unwrap_or_default();
        let int = |p: &str| match typed.get(p) {
            Some(TypedValue::Int(i)) => Some(*i),
            _ => None,
        };
        let lhs = match &s.targets {
            Some(Targets::Names(n)) => n.iter().map(|n| n.text.clone()).collect(),
            _ => Vec::new(),
        };
        let not_honoured = |what: &str| {
            format!(
                "{}: warning: {what} is not honoured yet by the physical passes",
                at(s)
            )
        };
        match typed.spec.name {
            "performance_param" => {
                let fps = typed
                    .unknown
                    .iter()
                    .find(|a| a.key.as_ref().is_some_and(|k| k.text == "fps"));
                match fps.map(|a| &a.value.kind) {
                    Some(ValueKind::Int(i)) => out.fps = *i as f64,
                    Some(ValueKind::Float(f)) => out.fps = *f,
                    _ => {}
                }
            }
            "defuse" => {
                let layer = first("layer");
                let n = int("defuse_number").unwrap_or(0);
                let (kind, part, join) =
                    match typed.get("defuse_type").and_then(TypedValue::as_word) {
                        None => ("features", "_d", "_dc"),
                        Some("SPATIAL") => ("spatial", "_sd", "_sdc"),
                        Some("INPUT_FEATURES") => ("input_features", "_d", "_dc"),
                        Some("COMPUTE_LANES") => ("compute_lanes", "", ""), // named below
                        Some(other) => {
                            out.warnings
                                .push(not_honoured(&format!("defuse_type={other}")));
                            continue;
                        }
                    };
                let expected: Vec<String> = match kind {
                    // One part on n lanes between a splitter and a concat (phys-defuse).
                    "compute_lanes" => [
                        "_lanes_feature_splitter",
                        &format!("_lanes_{n}"),
                        "_lanes_concat",
                    ]
                    .iter()
                    .map(|s| format!("{layer}{s}"))
                    .collect(),
                    _ => {
                        let mut e: Vec<String> =
                            (0..n).map(|i| format!("{layer}{part}{i}")).collect();
                        if kind == "input_features" {
                            e.insert(0, format!("{layer}_fs"));
                        }
                        e.push(format!("{layer}{join}"));
                        e
                    }
                };
                let given: Vec<&str> = lhs.iter().map(String::as_str).collect();
                if !given.is_empty() && given != expected {
                    return Err(format!(
                        "{}: error: phys-defuse names the parts of '{layer}' {}; the script names them {}",
                        at(s),
                        expected.join(", "),
                        given.join(", ")
                    ));
                }
                out.defuse.push(format!("{layer}:{n}:{kind}"));
            }
            "compilation_param" => {
                // `hw_layer_type_list=[ppu]`: the layer runs on the PPU, off the subclusters
                // (stdc1's `resize7`, 0 subclusters in the dump).
                let ppu = typed
                    .get("hw_layer_type_list")
                    .and_then(TypedValue::as_list)
                    .is_some_and(|l| l.iter().any(|v| v.as_word() == Some("ppu")));
                for l in layers("layers") {
                    if ppu {
                        out.subclusters.push(format!("{l}:0"));
                    } else if let Some(n) = int("number_of_subclusters").filter(|&n| n > 0) {
                        out.subclusters.push(format!("{l}:{n}"));
                    }
                    let on = matches!(typed.get("use_16x4_sc"), Some(TypedValue::Word(w)) if w == "enabled")
                        || matches!(typed.get("use_16x4_sc"), Some(TypedValue::Bool(true)));
                    if on {
                        out.mode_16x4.push(l.clone());
                    }
                }
            }
            "place" => {
                let cluster = int("cluster_number").unwrap_or(0);
                let context = s.scope.as_ref().and_then(|c| contexts.get(&c.text));
                for l in layers("layers") {
                    out.clusters.push(format!("{l}:{cluster}"));
                    if let Some(k) = context {
                        out.contexts.push(format!("{l}:{k}"));
                    }
                }
            }
            "context" => {
                let k = lhs
                    .first()
                    .and_then(|n| contexts.get(n))
                    .copied()
                    .unwrap_or(0);
                out.contexts
                    .extend(layers("layers").iter().map(|l| format!("{l}:{k}")));
            }
            "shortcut" => {
                let name = lhs.first().map_or_else(String::new, |n| format!(":{n}"));
                out.shortcuts.push(format!(
                    "{}:{}{name}",
                    first("layer_from"),
                    layers("layers_to").join("+")
                ));
            }
            "portal" | "l4_portal" | "ddr" => {
                let memory = match typed.spec.name {
                    "portal" => "l3",
                    "l4_portal" => "l4",
                    _ => "ddr",
                };
                let to = layers("layer_to");
                if to.len() != 1 {
                    out.warnings.push(not_honoured(&format!(
                        "a {} to {} layers",
                        typed.spec.name,
                        to.len()
                    )));
                    continue;
                }
                let name = lhs.first().map_or_else(String::new, |n| format!(":{n}"));
                out.portals
                    .push(format!("{memory}:{}:{}{name}", first("layer_from"), to[0]));
            }
            "buffers" => {
                let after =
                    int("number_of_rows_cluster_b").map_or_else(String::new, |n| format!(":{n}"));
                let rows = int("number_of_rows").unwrap_or(0);
                out.edges.push(format!(
                    "{}:{}:{rows}{after}",
                    first("layer_from"),
                    first("layer_to")
                ));
            }
            "merge" => {
                let name = lhs.first().map_or_else(String::new, |n| format!(":{n}"));
                out.merges
                    .push(format!("{}+{}{name}", first("layer1"), first("layer2")));
            }
            "allocator_param" => {
                let key = "merge_min_layer_utilization";
                out.merge_min_utilization = typed
                    .get(key)
                    .and_then(TypedValue::as_f64)
                    .or(out.merge_min_utilization);
                out.automatic_ddr = match typed.get("automatic_ddr") {
                    Some(TypedValue::Bool(b)) => Some(*b),
                    Some(v) => v.as_word().map(|w| w != "disabled").or(out.automatic_ddr),
                    None => out.automatic_ddr,
                };
                let others: Vec<&str> = typed
                    .args
                    .iter()
                    .map(|a| a.param.name)
                    .filter(|&n| n != key && n != "automatic_ddr")
                    .collect();
                if !others.is_empty() {
                    out.warnings.push(not_honoured(&format!(
                        "`allocator_param({})`",
                        others.join(", ")
                    )));
                }
            }
            "concat" => {
                let name = lhs.first().map_or_else(String::new, |n| format!(":{n}"));
                out.partials.push(format!(
                    "{}:{}{name}",
                    layers("layers_from").join("+"),
                    first("layer_to")
                ));
            }
            "feature_splitter" | "shape_splitter" => {
                let axis = match typed.get("split_type").and_then(TypedValue::as_word) {
                    Some("SPLIT_HEIGHT") => "height",
                    Some("SPLIT_WIDTH") => "width",
                    _ => "features",
                };
                let name = lhs.first().map_or_else(String::new, |n| format!(":{n}"));
                out.splitters.push(format!(
                    "{axis}:{}:{}{name}",
                    first("layer_from"),
                    layers("layers_to").join("+")
                ));
            }
            "remove_node" => out.removals.push(first("layer_name")),
            "output_mux" => {
                let name = lhs.first().map_or_else(String::new, |n| format!(":{n}"));
                out.muxes
                    .push(format!("{}{name}", layers("layers").join("+")));
            }
            "network_group" | "from_tf" => {}
            other => out.warnings.push(not_honoured(&format!("`{other}`"))),
        }
    }
    Ok(out)
}

//! `phys-shortcuts`: puts shortcut layers, portals and format conversions on edges the model
//! script names.
//!
//! A shortcut is an identity layer that relays a feature map (to another cluster, or to split a
//! long edge's buffer); a portal carries a long skip through cluster memory (L3), device memory
//! (L4) or the host (DDR) instead of a buffer, with no layer controller (resources doc §6); a
//! format conversion changes the layout of a boundary tensor (the vendor's
//! `auto_reshape_from_input_layer1_to_normalization1 = format_conversion(input_layer1,
//! normalization1, tf_rgb_to_hailo_rgb)`), on the host side (0 subclusters) unless a
//! `compilation_param` gives it subclusters. The model script says where:
//! `sh = shortcut(src, [dst, ...])`, `p = portal(src, dst)`, `p = l4_portal(src, dst)`,
//! `p = ddr(src, dst)`, `f = format_conversion(src, dst, kind)`. Each becomes one op on the
//! edges from `src` into the named consumers, which read it instead of `src`; a consumer the
//! script names by its logical name after `phys-defuse` split it is its parts that read `src`.
//!
//! Options (one entry per command; the name is the command's left-hand side, or the vendor's
//! default name when omitted):
//! - `shortcuts`: `src:dst1+dst2+...[:name]`, default name `sh_from_<src>_to_<dsts>` with the
//!   consumers as a run (`sh_from_conv15_to_conv18_d0-3`);
//! - `portals`: `memory:src:dst[:name]` with memory `l3`, `l4` or `ddr`, default names
//!   `portal_from_`, `l4_portal_from_`, `ddr_portal_from_<src>_to_<dst>`;
//! - `conversions`: `src:dst:kind[:name]` (a layout conversion that keeps the tensor's shape,
//!   e.g. `tf_rgb_to_hailo_rgb`), default name `format_conversion_from_<src>_to_<dst>`.
//!
//! Where an edge needs more rows than a buffer holds, `phys-buffers` adds a DDR portal itself
//! (`allocator_param(automatic_ddr)`); shortcuts and L3/L4 portals the allocator would ask for
//! (cluster transitions, `automatic_l4_portals`) are not placed automatically yet.

use hailo_dialect_phys::ops as phys;
use hailo_dialect_phys::PortalMemory;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId, OpSpec, ValueId};
use std::collections::BTreeMap;

hailo_ir::pass_options! {
    pub struct PhysShortcutsOptions {
        /// Shortcut layers, `src:dst1+dst2[:name]` (model script `shortcut(src, [dst, ...])`).
        shortcuts: Vec<String> = Vec::new(),
        /// Portals, `l3|l4|ddr:src:dst[:name]` (`portal`, `l4_portal`, `ddr`).
        portals: Vec<String> = Vec::new(),
        /// Format conversions, `src:dst:kind[:name]` (`format_conversion(src, dst, kind)`).
        conversions: Vec<String> = Vec::new(),
    }
}

pub struct PhysShortcuts(PhysShortcutsOptions);

impl PassDef for PhysShortcuts {
    const NAME: &'static str = "phys-shortcuts";
    const SUMMARY: &'static str =
        "Put shortcut layers, L3/L4/DDR portals and format conversions on named edges";
    const DESCRIPTION: &'static str = "From the model script's shortcut, portal, l4_portal, \
        ddr and format_conversion commands (options `shortcuts`, `portals`, `conversions`).";
    const ANCHOR: Option<&'static str> = Some(hailo_ir::builtin::GRAPH);
    type Options = PhysShortcutsOptions;

    fn new(o: PhysShortcutsOptions) -> Self {
        PhysShortcuts(o)
    }
    fn options(&self) -> &PhysShortcutsOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        graph: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut edits = Vec::new();
        for text in &self.0.shortcuts {
            edits.push(parse_shortcut(text).map_err(|e| cx.fail_at(m, graph, e))?);
        }
        for text in &self.0.portals {
            edits.push(parse_portal(text).map_err(|e| cx.fail_at(m, graph, e))?);
        }
        for text in &self.0.conversions {
            edits.push(parse_conversion(text).map_err(|e| cx.fail_at(m, graph, e))?);
        }
        let block = m.region(m.op(graph).regions()[0]).blocks()[0];
        let mut layers: BTreeMap<String, OpId> = m
            .block_ops(block)
            .into_iter()
            .filter_map(|op| {
                let name = m.attr(op, "layer").and_then(Attribute::as_str)?;
                Some((name.to_owned(), op))
            })
            .collect();
        // A later command may relay an earlier one's relay (stdc1's
        // `shortcut(sh_from_ew_add3_to_conv32_sd0-3, [...])`).
        for edit in &edits {
            let op = insert(m, &layers, edit).map_err(|e| cx.fail_at(m, graph, e))?;
            layers.insert(edit.name.clone(), op);
        }
        cx.stat(
            "relays",
            "shortcuts, portals and conversions added",
            edits.len() as u64,
        );
        Ok(if edits.is_empty() {
            Preserved::All
        } else {
            Preserved::None
        })
    }
}

type Res<T> = Result<T, String>;

/// What a relay is.
enum Kind {
    Shortcut,
    Portal(PortalMemory),
    /// A format conversion, with what it converts.
    Conversion(String),
}

/// One shortcut, portal or format conversion to add.
struct Relay {
    src: String,
    dsts: Vec<String>,
    name: String,
    kind: Kind,
}

fn parse_shortcut(text: &str) -> Res<Relay> {
    let bad = || format!("'shortcuts' entry '{text}' must be src:dst1+dst2+...[:name]");
    let f: Vec<&str> = text.split(':').collect();
    let (src, dsts, name) = match f[..] {
        [src, dsts] => (src, dsts, None),
        [src, dsts, name] => (src, dsts, Some(name)),
        _ => return Err(bad()),
    };
    let dsts: Vec<String> = dsts.split('+').map(str::to_owned).collect();
    if src.is_empty() || dsts.iter().any(String::is_empty) || name == Some("") {
        return Err(bad());
    }
    let default = || {
        let run = super::range_name(&dsts[0], &dsts[dsts.len() - 1]);
        let to = if dsts.len() == 1 {
            dsts[0].clone()
        } else {
            run
        };
        format!("sh_from_{src}_to_{to}")
    };
    Ok(Relay {
        name: name.map_or_else(default, str::to_owned),
        src: src.to_owned(),
        dsts,
        kind: Kind::Shortcut,
    })
}

fn parse_portal(text: &str) -> Res<Relay> {
    let bad = || format!("'portals' entry '{text}' must be l3|l4|ddr:src:dst[:name]");
    let f: Vec<&str> = text.split(':').collect();
    let (mem, src, dst, name) = match f[..] {
        [mem, src, dst] => (mem, src, dst, None),
        [mem, src, dst, name] => (mem, src, dst, Some(name)),
        _ => return Err(bad()),
    };
    let memory = match PortalMemory::parse(mem) {
        Some(PortalMemory::L3) => (PortalMemory::L3, "portal"),
        Some(PortalMemory::L4) => (PortalMemory::L4, "l4_portal"),
        Some(PortalMemory::Ddr) => (PortalMemory::Ddr, "ddr_portal"),
        None => return Err(bad()),
    };
    if src.is_empty() || dst.is_empty() || name == Some("") {
        return Err(bad());
    }
    Ok(Relay {
        name: name.map_or_else(
            || format!("{}_from_{src}_to_{dst}", memory.1),
            str::to_owned,
        ),
        src: src.to_owned(),
        dsts: vec![dst.to_owned()],
        kind: Kind::Portal(memory.0),
    })
}

fn parse_conversion(text: &str) -> Res<Relay> {
    let bad = || format!("'conversions' entry '{text}' must be src:dst:kind[:name]");
    let f: Vec<&str> = text.split(':').collect();
    let (src, dst, kind, name) = match f[..] {
        [src, dst, kind] => (src, dst, kind, None),
        [src, dst, kind, name] => (src, dst, kind, Some(name)),
        _ => return Err(bad()),
    };
    if [src, dst, kind].iter().any(|s| s.is_empty()) || name == Some("") {
        return Err(bad());
    }
    Ok(Relay {
        name: name.map_or_else(
            || format!("format_conversion_from_{src}_to_{dst}"),
            str::to_owned,
        ),
        src: src.to_owned(),
        dsts: vec![dst.to_owned()],
        kind: Kind::Conversion(kind.to_owned()),
    })
}

/// Adds `relay` after its source and points its consumers' operands at it; the relay's op.
fn insert(m: &mut Module, layers: &BTreeMap<String, OpId>, relay: &Relay) -> Res<OpId> {
    let find = |n: &str| {
        layers.get(n).copied().ok_or_else(|| {
            format!(
                "'{}' names '{n}', which is no layer of this graph",
                relay.name
            )
        })
    };
    if layers.contains_key(&relay.name) {
        return Err(format!("'{}' is already a layer of this graph", relay.name));
    }
    let src = find(&relay.src)?;
    let value: ValueId = m.result(src, 0);
    // A consumer defused since the script named it is its parts that read the source
    // (stdc1's `format_conversion(resize7, argmax1, ...)` feeds `argmax1_sd0` and `argmax1_sd1`).
    let mut dsts = Vec::new();
    let mut dst_names = Vec::new();
    for d in &relay.dsts {
        let parts: Vec<OpId> = layers
            .values()
            .copied()
            .filter(|&o| {
                m.attr(o, "origin").and_then(Attribute::as_str) == Some(d.as_str())
                    && m.attr(o, "part").is_some()
                    && m.op(o).operands().contains(&value)
            })
            .collect();
        if layers.contains_key(d) || parts.is_empty() {
            dsts.push(find(d)?);
            dst_names.push(d);
        } else {
            dst_names.extend(parts.iter().map(|_| d));
            dsts.extend(parts);
        }
    }
    // Consumers read the relay instead of the source; the relay goes before the first of them.
    let mut edges = Vec::new();
    for (&dst, name) in dsts.iter().zip(dst_names) {
        let uses: Vec<usize> = m
            .op(dst)
            .operands()
            .iter()
            .enumerate()
            .filter(|(_, &v)| v == value)
            .map(|(i, _)| i)
            .collect();
        if uses.is_empty() {
            return Err(format!(
                "'{}': {name} does not read {}",
                relay.name, relay.src
            ));
        }
        edges.extend(uses.into_iter().map(|i| (dst, i)));
    }
    let spec = OpSpec::new(match relay.kind {
        Kind::Shortcut => phys::Shortcut::NAME,
        Kind::Portal(_) => phys::Portal::NAME,
        Kind::Conversion(_) => phys::FormatConversion::NAME,
    })
    .operands(&[value])
    .results(&[m.value_type(value)])
    .loc(m.op(dsts[0]).loc.clone())
    .attr("layer", Attribute::str(&relay.name));
    let spec = match &relay.kind {
        Kind::Shortcut => spec,
        Kind::Portal(mem) => spec.attr("memory", Attribute::str(mem.name())),
        Kind::Conversion(kind) => spec
            .attr("conversion", Attribute::str(kind))
            .attr("subclusters", Attribute::i64(0)),
    };
    let op = m.create_op(spec);
    let first = *dsts
        .iter()
        .min_by_key(|&&d| position(m, d))
        .expect("a relay has a consumer");
    m.insert_before(first, op);
    for (dst, i) in edges {
        m.set_operand(dst, i, m.result(op, 0));
    }
    Ok(op)
}

/// An op's index in its block.
fn position(m: &Module, op: OpId) -> usize {
    let block = m
        .op(op)
        .parent_block()
        .expect("a layer sits in the graph's block");
    m.block_ops(block)
        .iter()
        .position(|&o| o == op)
        .unwrap_or(usize::MAX)
}

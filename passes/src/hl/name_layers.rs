//! `hl-name-layers`: gives every `hl` layer named `<prefix><n>` (`conv3`, `ew_add12`,
//! `output_layer1`) the name Hailo's parser would: one counter per prefix, counting from 1 in
//! graph (topological) order, as the HN numbers layers by type. Run after the parse-time
//! fusions, it closes the gaps the absorbed layers leave: the convs of a network keep their
//! numbers (a fold never removes a conv), while the adds and activations that remain are
//! renumbered `ew_add1`, `ew_add2`, ... . Names without a trailing number (chosen by a user) are
//! kept.

use super::{body_ops, graphs, layer_name};
use hailo_dialect_hl::naming::LayerNamer;
use hailo_ir::pass::options::NoOptions;
use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Module, OpId};

pub struct NameLayers(NoOptions);

impl PassDef for NameLayers {
    const NAME: &'static str = "hl-name-layers";
    const SUMMARY: &'static str =
        "Number the layers of each type 1, 2, ... in graph order, as the Hailo parser does";
    const ANCHOR: Option<&'static str> = None;
    type Options = NoOptions;

    fn new(o: NoOptions) -> Self {
        NameLayers(o)
    }
    fn options(&self) -> &NoOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        _cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let mut changed = false;
        for g in graphs(m, root) {
            let mut namer = LayerNamer::new();
            for op in body_ops(m, g) {
                if !m.op(op).name_str().starts_with("hl.") {
                    continue;
                }
                let Some(old) = layer_name(m, op) else {
                    continue;
                };
                let prefix = old.trim_end_matches(|c: char| c.is_ascii_digit());
                if prefix.is_empty() || prefix.len() == old.len() {
                    continue;
                }
                let new = namer.next(prefix);
                if new != old {
                    m.set_attr(op, "layer", Attribute::str(&new));
                    changed = true;
                }
            }
        }
        // Renaming changes attributes only: the graph's structure and values stay.
        Ok(if changed {
            Preserved::None
        } else {
            Preserved::All
        })
    }
}

//! The `hl` layers of a recognised multi-head attention block (guide §5.5.32), split per head
//! as the DFC's attention defusing does: feature slices of Q, K and V (`[B, T, E]`, no
//! transposes), per head `matmul(q_h, k_h, transpose_b)`, the scale as an `ew_mult`, `softmax`
//! over the keys, `matmul(p_h, v_h)`, and a `concat` of the heads back to `[B, T, E]`. Each
//! layer is located at the ONNX node it computes.

use hailo_dialect_hl as hl;
use hailo_dialect_hl::builder::ints;
use hailo_ir::{Attribute, ValueId};

use super::error::{node_error, ConvertResult};
use super::patterns::{AttentionNodes, Pattern};
use super::Converter;

impl Converter<'_> {
    /// A layer located at node `at` and recorded in its report entry; returns the layer name
    /// and results.
    fn layer_at(
        &mut self,
        at: usize,
        (op, prefix): (&str, &str),
        operands: &[ValueId],
        shapes: &[Vec<usize>],
        attrs: Vec<(&str, Attribute)>,
    ) -> (String, Vec<ValueId>) {
        let node = self.g.node(at);
        let layer = self.e.b.next_name(prefix);
        self.e.report.add_layer(&node.name, &node.op_type, &layer);
        let res = self
            .e
            .b
            .layer(op, &layer, operands, shapes, attrs, &[&node.name]);
        (layer, res)
    }

    /// Emits the attention block `pat` over `[q, k, v]` with `heads` heads.
    pub(crate) fn attention(
        &mut self,
        pat: &Pattern,
        heads: usize,
        scale: f64,
        qkv: [&str; 3],
        roles: &AttentionNodes,
    ) -> ConvertResult<()> {
        let node = self.g.node(pat.anchor());
        let mut parts = Vec::new();
        let mut shapes = Vec::new();
        for (name, &at) in qkv.iter().zip(&roles.splits) {
            let s = self.e.shape(node, name)?;
            if s.len() != 3 || s[2] % heads != 0 {
                return Err(node_error(
                    node,
                    format!("'{name}' has shape {s:?}; expected [B, T, E] with E divisible by {heads} heads"),
                ));
            }
            let v = self.e.value(node, name)?;
            let x = self.e.relayout_value(node, name, &v, &[0, 1, 2])?;
            let d = s[2] / heads;
            parts.push(if heads == 1 {
                vec![x]
            } else {
                let piece = vec![s[0], s[1], d];
                let attrs = vec![
                    ("axis", Attribute::i64(2)),
                    ("sizes", ints(&vec![d; heads])),
                ];
                let op = (hl::Split::NAME, "feature_splitter");
                self.layer_at(at, op, &[x], &vec![piece; heads], attrs).1
            });
            shapes.push(s);
        }
        let (b, t, keys, d) = (
            shapes[0][0],
            shapes[0][1],
            shapes[1][1],
            shapes[0][2] / heads,
        );
        let scores = vec![b, t, keys];
        let mut outs = Vec::new();
        let mut last = String::new();
        let [qs, ks, vs] = [&parts[0], &parts[1], &parts[2]];
        for ((&qh, &kh), &vh) in qs.iter().zip(ks).zip(vs) {
            let tb = |v| vec![("transpose_b", Attribute::Bool(v))];
            let qk = (qh, kh);
            let mm = (hl::MatMul::NAME, "matmul");
            let mut a = self
                .layer_at(
                    roles.qk,
                    mm,
                    &[qk.0, qk.1],
                    std::slice::from_ref(&scores),
                    tb(true),
                )
                .1[0];
            if let Some(sn) = roles.scale.filter(|_| scale != 1.0) {
                let sname = self.g.node(sn).name.as_str();
                let layer = self.e.b.next_name("ew_mult");
                let c =
                    self.e
                        .b
                        .constant(&layer, "b", &[1, 1, 1], &[scale as f32], false, &[sname]);
                self.e
                    .report
                    .add_layer(sname, &self.g.node(sn).op_type, &layer);
                let shape = std::slice::from_ref(&scores);
                a = self
                    .e
                    .b
                    .layer(hl::EwMult::NAME, &layer, &[a, c], shape, vec![], &[sname])[0];
            }
            let sm = (hl::Softmax::NAME, "softmax");
            let axis = vec![("axis", Attribute::i64(2))];
            let p = self
                .layer_at(roles.softmax, sm, &[a], std::slice::from_ref(&scores), axis)
                .1[0];
            let o = self.layer_at(roles.pv, mm, &[p, vh], &[vec![b, t, d]], tb(false));
            outs.push(o.1[0]);
            last = o.0;
        }
        let y = if heads == 1 {
            outs[0]
        } else {
            let attrs = vec![("axis", Attribute::i64(2))];
            let cat = (hl::Concat::NAME, "concat");
            let (l, r) = self.layer_at(roles.merge, cat, &outs, &[vec![b, t, d * heads]], attrs);
            last = l;
            r[0]
        };
        self.e.bind(&pat.output, y, vec![0, 1, 2]);
        let why = format!("part of a subgraph recognised as {}", pat.describe());
        for &n in &pat.nodes {
            self.done[n] = true;
            let name = &self.g.node(n).name;
            if self.e.report.has_layers(name) {
                self.converted(n, &[]);
            } else {
                self.fused(&[n], &last, &why);
            }
        }
        Ok(())
    }
}

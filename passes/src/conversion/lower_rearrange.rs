//! `hl-to-quant` for the layers that rearrange codes without changing them, so they keep
//! their input's quantized type: `hl.transpose` becomes `q.transpose`; `hl.depth_to_space`
//! (DCR / CRD), `hl.space_to_depth` (classic / focus) and `hl.feature_shuffle` become
//! `q.reshape` → `q.transpose` → `q.reshape` (the block or group axes split out, permuted,
//! merged back); `hl.pad` becomes `q.pad` with a constant pad value quantized to the
//! input's scale and zero point (saturated to its storage range).

use super::hl_to_quant::{emit, get, qtype_of, Res};
use hailo_dialect_hl as hl;
use hailo_dialect_quant::ops as q;
use hailo_dialect_quant::scheme;
use hailo_ir::{Attribute, Module, OpId, ValueId};
use rustc_hash::FxHashMap;

/// Lowers one rearranging layer.
pub(super) fn lower(m: &mut Module, op: OpId, map: &FxHashMap<ValueId, ValueId>) -> Res<ValueId> {
    let name = m.op(op).name_str();
    let x = get(map, m.op(op).operands()[0])?;
    let tx = qtype_of(m, x)?;
    let xs = m.value_type(x).shape().unwrap_or(&[]).to_vec();
    let out = m
        .value_type(m.result(op, 0))
        .shape()
        .unwrap_or(&[])
        .to_vec();
    let int = |k: &str| {
        m.attr(op, k)
            .and_then(Attribute::as_i64)
            .ok_or_else(|| format!("missing '{k}' (integer)"))
    };
    let mode = m.attr(op, "mode").and_then(Attribute::as_str);
    let (split, perm) = match name {
        hl::Transpose::NAME => {
            let perm = m
                .attr(op, "perm")
                .and_then(Attribute::as_i64_array)
                .ok_or("missing 'perm' (array of integers)")?;
            let attrs = vec![("perm", Attribute::i64_array(&perm))];
            return Ok(emit(m, op, q::TRANSPOSE, &[x], tx.tensor(&out), attrs));
        }
        hl::FormatConversion::NAME => {
            let attrs = ["conversion", "emulator_support"]
                .into_iter()
                .filter_map(|k| m.attr(op, k).cloned().map(|a| (k, a)))
                .collect();
            return Ok(emit(
                m,
                op,
                q::FORMAT_CONVERSION,
                &[x],
                tx.tensor(&out),
                attrs,
            ));
        }
        hl::Pad::NAME => {
            let pads = m
                .attr(op, "pads")
                .and_then(Attribute::as_i64_array)
                .ok_or("missing 'pads' (array of integers)")?;
            let mode = mode.unwrap_or("constant").to_owned();
            let mut attrs = vec![
                ("pads", Attribute::i64_array(&pads)),
                ("mode", Attribute::str(&mode)),
            ];
            if mode == "constant" {
                let v = m
                    .attr(op, "value")
                    .and_then(Attribute::as_f64)
                    .unwrap_or(0.0);
                let code = scheme::quantize(v, tx.scale_at(0), tx.zero_point(), tx.storage());
                attrs.push(("value", Attribute::i64(code)));
            }
            return Ok(emit(m, op, q::PAD, &[x], tx.tensor(&out), attrs));
        }
        hl::DepthToSpace::NAME => {
            let [n, h, w, c] = rank4(&xs)?;
            let b = int("block_size")?;
            check_block(
                b,
                c % (b * b) == 0,
                "the channel count must be a multiple of block²",
            )?;
            let co = c / (b * b);
            match mode.unwrap_or("DCR") {
                // Input channel (by·b + bx)·co + ch.
                "DCR" => (vec![n, h, w, b, b, co], vec![0, 1, 3, 2, 4, 5]),
                // Input channel ch·b² + by·b + bx.
                "CRD" => (vec![n, h, w, co, b, b], vec![0, 1, 4, 2, 5, 3]),
                other => return Err(format!("unknown depth_to_space mode '{other}'")),
            }
        }
        hl::SpaceToDepth::NAME => {
            let [n, h, w, c] = rank4(&xs)?;
            let b = int("block_size")?;
            check_block(
                b,
                h % b == 0 && w % b == 0,
                "height and width must be multiples of the block",
            )?;
            let split = vec![n, h / b, b, w / b, b, c];
            match mode.unwrap_or("classic") {
                // Output channel (by·b + bx)·c + ch.
                "classic" => (split, vec![0, 1, 3, 2, 4, 5]),
                // Output channel (bx·b + by)·c + ch.
                "focus" => (split, vec![0, 1, 3, 4, 2, 5]),
                other => return Err(format!("unknown space_to_depth mode '{other}'")),
            }
        }
        hl::FeatureShuffle::NAME => {
            let g = int("groups")?;
            let (&c, lead) = xs.split_last().ok_or("input has rank 0")?;
            if g < 1 || c % g != 0 {
                return Err(format!("{c} channels do not split into {g} groups"));
            }
            let mut split = lead.to_vec();
            split.extend([g, c / g]);
            let r = split.len();
            let mut perm: Vec<i64> = (0..r as i64).collect();
            perm.swap(r - 2, r - 1);
            (split, perm)
        }
        other => return Err(format!("'{other}' is not a rearranging layer")),
    };
    let moved: Vec<i64> = perm.iter().map(|&p| split[p as usize]).collect();
    let a = emit(m, op, q::RESHAPE, &[x], tx.tensor(&split), vec![]);
    let attrs = vec![("perm", Attribute::i64_array(&perm))];
    let t = emit(m, op, q::TRANSPOSE, &[a], tx.tensor(&moved), attrs);
    Ok(emit(m, op, q::RESHAPE, &[t], tx.tensor(&out), vec![]))
}

fn rank4(s: &[i64]) -> Res<[i64; 4]> {
    <[i64; 4]>::try_from(s).map_err(|_| format!("input must be NHWC (rank 4), got {s:?}"))
}

fn check_block(b: i64, fits: bool, what: &str) -> Res<()> {
    if b < 1 || !fits {
        return Err(format!("block_size {b} does not fit: {what}"));
    }
    Ok(())
}

//! Reshape → Transpose → Reshape chains on rank-4 tensors that are a feature shuffle, a
//! depth-to-space (DCR/CRD) or a space-to-depth. The chain's element permutation is computed
//! on the real shapes and compared with each candidate layer's permutation, so the match is
//! exact whatever intermediate shapes the exporter chose.

use super::{GraphView, Pattern, PatternKind};
use crate::to_hl::layout::permute;

/// Chains larger than this are not analysed (the permutation tables would be too big).
const MAX_ELEMENTS: usize = 1 << 24;

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// For the chain reshape(s1) → transpose(perm) → reshape: output flat index → input flat index.
fn chain_map(s1: &[usize], perm: &[usize]) -> Vec<usize> {
    let t = permute(s1, perm);
    let st = strides(s1);
    let n: usize = t.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; t.len()];
    for _ in 0..n {
        out.push((0..t.len()).map(|k| idx[k] * st[perm[k]]).sum());
        for k in (0..t.len()).rev() {
            idx[k] += 1;
            if idx[k] < t[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

/// For an NCHW op: output flat index → input flat index, from `src(c, h, w)` giving the source
/// (channel, row, column) of each output element.
fn op_map(
    input: [usize; 4],
    output: [usize; 4],
    src: impl Fn(usize, usize, usize) -> (usize, usize, usize),
) -> Vec<usize> {
    let [n, c_out, h_out, w_out] = output;
    let [_, c_in, h_in, w_in] = input;
    let mut out = Vec::with_capacity(n * c_out * h_out * w_out);
    for b in 0..n {
        for c in 0..c_out {
            for h in 0..h_out {
                for w in 0..w_out {
                    let (sc, sh, sw) = src(c, h, w);
                    out.push(((b * c_in + sc) * h_in + sh) * w_in + sw);
                }
            }
        }
    }
    out
}

fn rank4(s: &[usize]) -> Option<[usize; 4]> {
    s.try_into().ok()
}

/// The layer equal to a chain from `input` (NCHW) to `output` with map `map`.
fn identify(i: [usize; 4], o: [usize; 4], map: &[usize]) -> Option<PatternKind> {
    let [_, c, h, w] = i;
    let [_, co, ho, wo] = o;
    if (h, w) == (ho, wo) && c == co {
        for groups in (2..c).filter(|g| c % g == 0) {
            let per = c / groups;
            // Output channel j = k * groups + g takes input channel g * per + k.
            if op_map(i, o, |j, y, x| ((j % groups) * per + j / groups, y, x)) == map {
                return Some(PatternKind::FeatureShuffle { groups });
            }
        }
    }
    if ho > h && ho % h == 0 && wo / w == ho / h && wo % w == 0 {
        let b = ho / h;
        let dcr = |j: usize, y: usize, x: usize| (((y % b) * b + x % b) * co + j, y / b, x / b);
        if op_map(i, o, dcr) == map {
            return Some(PatternKind::DepthToSpace {
                block: b,
                mode: "DCR",
            });
        }
        let crd = |j: usize, y: usize, x: usize| (j * b * b + (y % b) * b + x % b, y / b, x / b);
        if op_map(i, o, crd) == map {
            return Some(PatternKind::DepthToSpace {
                block: b,
                mode: "CRD",
            });
        }
    }
    if h > ho && h % ho == 0 && w / wo == h / ho && w % wo == 0 {
        let b = h / ho;
        let classic = |j: usize, y: usize, x: usize| {
            let (k, ch) = (j / c, j % c);
            (ch, y * b + k / b, x * b + k % b)
        };
        if op_map(i, o, classic) == map {
            return Some(PatternKind::SpaceToDepth {
                block: b,
                mode: "classic",
            });
        }
        let focus = |j: usize, y: usize, x: usize| {
            let (k, ch) = (j / c, j % c);
            (ch, y * b + k % b, x * b + k / b)
        };
        if op_map(i, o, focus) == map {
            return Some(PatternKind::SpaceToDepth {
                block: b,
                mode: "focus",
            });
        }
    }
    None
}

/// A Reshape → Transpose → Reshape chain ending at node `anchor`.
pub(super) fn match_at(g: &GraphView, anchor: usize) -> Option<Pattern> {
    let r2 = g.node(anchor);
    if r2.op_type != "Reshape" || !r2.domain.is_empty() {
        return None;
    }
    let t_idx = g.sole_producer(r2.input(0)?, "Transpose", anchor)?;
    let t = g.node(t_idx);
    let r1_idx = g.sole_producer(t.input(0)?, "Reshape", t_idx)?;
    let r1 = g.node(r1_idx);
    let x = r1.input(0)?;
    let i = rank4(g.model.shape(x)?)?;
    let o = rank4(g.model.shape(r2.output(0)?)?)?;
    let s1 = g.model.shape(r1.output(0)?)?;
    if i.iter().product::<usize>() > MAX_ELEMENTS {
        return None;
    }
    let perm: Vec<usize> = match t.attr_ints("perm").ok()? {
        Some(p) => p
            .iter()
            .map(|&a| usize::try_from(a).ok())
            .collect::<Option<_>>()?,
        None => (0..s1.len()).rev().collect(),
    };
    if perm.len() != s1.len() {
        return None;
    }
    let kind = identify(i, o, &chain_map(s1, &perm))?;
    Some(Pattern {
        nodes: vec![r1_idx, t_idx, anchor],
        input: x.to_string(),
        output: r2.output(0)?.to_string(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_shuffle_chain_is_crd() {
        // torch PixelShuffle(2) on [1, 8, 3, 3]: reshape [1, 2, 2, 2, 3, 3], perm [0,1,4,2,5,3].
        let map = chain_map(&[1, 2, 2, 2, 3, 3], &[0, 1, 4, 2, 5, 3]);
        assert_eq!(
            identify([1, 8, 3, 3], [1, 2, 6, 6], &map),
            Some(PatternKind::DepthToSpace {
                block: 2,
                mode: "CRD"
            })
        );
    }

    #[test]
    fn shufflenet_chain_is_feature_shuffle() {
        let map = chain_map(&[1, 2, 3, 2, 2], &[0, 2, 1, 3, 4]);
        assert_eq!(
            identify([1, 6, 2, 2], [1, 6, 2, 2], &map),
            Some(PatternKind::FeatureShuffle { groups: 2 })
        );
    }

    #[test]
    fn onnx_space_to_depth_chain_is_classic() {
        // [1, 2, 4, 4] -> [1, 2, 2, 2, 2, 2] (n, c, h/b, b, w/b, b), perm [0, 3, 5, 1, 2, 4].
        let map = chain_map(&[1, 2, 2, 2, 2, 2], &[0, 3, 5, 1, 2, 4]);
        assert_eq!(
            identify([1, 2, 4, 4], [1, 8, 2, 2], &map),
            Some(PatternKind::SpaceToDepth {
                block: 2,
                mode: "classic"
            })
        );
    }
}

//! Sidecar `.npz` files for resource blobs, so a `.hir` file's weights can
//! live beside it (readable by numpy) instead of in a hex section.
//!
//! Each `dense_resource<key>` becomes the npz member `key`, typed and shaped
//! by the attribute's tensor type.

use hailo_ir::{Attribute, Blob, Module, Type, TypeKind};
use hailo_npz::NpyArray;
use ndarray::{ArrayD, IxDyn};
use std::collections::BTreeMap;
use std::path::Path;

/// The tensor type each resource key is used with.
fn resource_types(m: &Module) -> BTreeMap<String, Type> {
    fn visit(a: &Attribute, out: &mut BTreeMap<String, Type>) {
        match a {
            Attribute::DenseResource { key, ty } => {
                out.entry(key.as_str().to_owned()).or_insert(*ty);
            }
            Attribute::Array(items) => items.iter().for_each(|x| visit(x, out)),
            Attribute::Dict(items) => items.iter().for_each(|(_, x)| visit(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    for op in m.walk(m.top()) {
        for (_, a) in m.op(op).attrs() {
            visit(a, &mut out);
        }
    }
    out
}

fn typed<T: Copy, const N: usize>(
    bytes: &[u8],
    shape: &[usize],
    f: fn([u8; N]) -> T,
) -> Option<ArrayD<T>> {
    let values: Vec<T> = bytes
        .chunks_exact(N)
        .map(|c| f(c.try_into().expect("chunk has N bytes")))
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).ok()
}

/// The blob as an array of its tensor type; raw bytes when the type is unknown or does not fit.
fn blob_to_array(blob: &Blob, ty: Option<Type>) -> NpyArray {
    let raw = || {
        NpyArray::U8(
            ArrayD::from_shape_vec(IxDyn(&[blob.bytes.len()]), blob.bytes.to_vec()).expect("1-D"),
        )
    };
    let Some(ty) = ty else { return raw() };
    let shape: Vec<usize> = ty
        .shape()
        .unwrap_or(&[])
        .iter()
        .map(|&d| d as usize)
        .collect();
    let b = &blob.bytes;
    let arr = match ty.element().kind() {
        TypeKind::F32 => typed(b, &shape, f32::from_le_bytes).map(NpyArray::F32),
        TypeKind::F64 => typed(b, &shape, f64::from_le_bytes).map(NpyArray::F64),
        TypeKind::F16 => typed(b, &shape, half::f16::from_le_bytes).map(NpyArray::F16),
        TypeKind::Int {
            width: 8,
            signedness,
        } if *signedness == hailo_ir::Signedness::Unsigned => {
            typed(b, &shape, |c: [u8; 1]| c[0]).map(NpyArray::U8)
        }
        TypeKind::Int { width: 8, .. } => typed(b, &shape, i8::from_le_bytes).map(NpyArray::I8),
        TypeKind::Int { width: 16, .. } => typed(b, &shape, i16::from_le_bytes).map(NpyArray::I16),
        TypeKind::Int { width: 32, .. } => typed(b, &shape, i32::from_le_bytes).map(NpyArray::I32),
        TypeKind::Int { width: 64, .. } => typed(b, &shape, i64::from_le_bytes).map(NpyArray::I64),
        _ => None,
    };
    arr.unwrap_or_else(raw)
}

fn le_bytes<T: Copy>(a: &ArrayD<T>, f: fn(T) -> Vec<u8>) -> Vec<u8> {
    a.iter().flat_map(|&x| f(x)).collect()
}

/// The array's elements as little-endian bytes, aligned to the element size.
fn array_to_blob(a: &NpyArray) -> Blob {
    let (align, bytes) = match a {
        NpyArray::Bool(x) => (1, x.iter().map(|&v| u8::from(v)).collect()),
        NpyArray::I8(x) => (1, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::U8(x) => (1, x.iter().copied().collect()),
        NpyArray::I16(x) => (2, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::U16(x) => (2, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::I32(x) => (4, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::U32(x) => (4, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::I64(x) => (8, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::U64(x) => (8, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::F16(x) => (2, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::F32(x) => (4, le_bytes(x, |v| v.to_le_bytes().to_vec())),
        NpyArray::F64(x) => (8, le_bytes(x, |v| v.to_le_bytes().to_vec())),
    };
    Blob::new(align, bytes)
}

/// Adds every member of `path` as a blob (members already in the module win).
pub fn load_sidecar(m: &mut Module, path: &Path) -> Result<usize, String> {
    let members = hailo_npz::read_npz(path).map_err(|e| e.to_string())?;
    let mut added = 0;
    for (key, arr) in members {
        if m.resources.get(&key).is_none() {
            m.resources.insert(&key, array_to_blob(&arr));
            added += 1;
        }
    }
    Ok(added)
}

/// Writes every blob the module refers to into `path` (atomically).
pub fn write_sidecar(m: &Module, path: &Path) -> Result<usize, String> {
    let types = resource_types(m);
    let members: Vec<(String, NpyArray)> = types
        .iter()
        .filter_map(|(k, ty)| {
            m.resources
                .get(k)
                .map(|b| (k.clone(), blob_to_array(b, Some(*ty))))
        })
        .collect();
    hailo_npz::write_npz(path, &members).map_err(|e| e.to_string())?;
    Ok(members.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_through_npz() {
        let ctx = crate::context::full_context(false);
        let text = "builtin.graph @g() -> () {\n  %0 = hl.const dense_resource<w> : tensor<2x2xf32>\n  builtin.return\n}\n\
                    {-#\n  dialect_resources: {\n    builtin: {\n      w: \"0x040000000000803F000000400000404000008040\"\n    }\n  }\n#-}\n";
        let m = hailo_ir::parse_module(&ctx, "t.hir", text).expect("parses");
        let dir = std::env::temp_dir().join(format!("hailo-sidecar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let npz = dir.join("w.npz");
        assert_eq!(write_sidecar(&m, &npz).expect("writes"), 1);
        let arrays = hailo_npz::read_npz(&npz).expect("reads");
        assert_eq!(arrays[0].0, "w");
        assert_eq!(
            arrays[0]
                .1
                .as_f32()
                .expect("f32")
                .as_slice()
                .expect("contiguous"),
            &[1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(arrays[0].1.shape(), &[2, 2]);
        let mut m2 = hailo_ir::parse_module(&ctx, "t.hir", text.split("{-#").next().expect("ir"))
            .expect("parses");
        assert_eq!(load_sidecar(&mut m2, &npz).expect("loads"), 1);
        assert_eq!(m2.resources.get("w"), m.resources.get("w"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}

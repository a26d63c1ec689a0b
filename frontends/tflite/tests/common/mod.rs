//! Test helpers: a tiny FlatBuffers writer for synthetic TFLite models and
//! locations of the shared reference models.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file in the shared model corpus.
pub fn shared_model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/models")
        .join(name)
}

/// A field value of a table being written.
pub enum Val {
    I8(i8),
    U8(u8),
    I32(i32),
    U32(u32),
    U64(u64),
    F32(f32),
    Str(String),
    Bytes(Vec<u8>),
    Ints(Vec<i32>),
    Floats(Vec<f32>),
    Longs(Vec<i64>),
    Table(Obj),
    Tables(Vec<Obj>),
}

/// A table: `(field id, value)` pairs.
#[derive(Default)]
pub struct Obj(pub Vec<(u16, Val)>);

impl Obj {
    pub fn with(mut self, id: u16, v: Val) -> Self {
        self.0.push((id, v));
        self
    }
}

/// Serializes `root` as a flatbuffer with file identifier `TFL3`.
///
/// Layout is forward-only (children after parents) so every uoffset is
/// positive; vtables precede their tables. No alignment padding is added.
pub fn serialize(root: &Obj) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    out.extend_from_slice(b"TFL3");
    let pos = write_table(&mut out, root);
    out[0..4].copy_from_slice(&(pos as u32).to_le_bytes());
    out
}

fn write_table(out: &mut Vec<u8>, obj: &Obj) -> usize {
    let max_id = obj.0.iter().map(|(id, _)| *id).max().map_or(0, |m| m + 1);
    // Inline layout: soffset, then one slot per field (offsets are 4 bytes).
    let mut slots = Vec::new();
    let mut size = 4usize;
    for (id, v) in &obj.0 {
        let width = match v {
            Val::I8(_) | Val::U8(_) => 1,
            Val::U64(_) => 8,
            _ => 4,
        };
        slots.push((*id, size, width));
        size += width;
    }
    let vtable = out.len();
    out.extend_from_slice(&(4 + 2 * max_id).to_le_bytes());
    out.extend_from_slice(&(size as u16).to_le_bytes());
    for id in 0..max_id {
        let off = slots.iter().find(|s| s.0 == id).map_or(0, |s| s.1 as u16);
        out.extend_from_slice(&off.to_le_bytes());
    }
    let table = out.len();
    out.extend_from_slice(&((table - vtable) as i32).to_le_bytes());
    out.resize(table + size, 0);
    for ((_, v), (_, off, _)) in obj.0.iter().zip(&slots) {
        let at = table + off;
        let inline: Vec<u8> = match v {
            Val::I8(x) => x.to_le_bytes().to_vec(),
            Val::U8(x) => vec![*x],
            Val::I32(x) => x.to_le_bytes().to_vec(),
            Val::U32(x) => x.to_le_bytes().to_vec(),
            Val::U64(x) => x.to_le_bytes().to_vec(),
            Val::F32(x) => x.to_le_bytes().to_vec(),
            _ => continue,
        };
        out[at..at + inline.len()].copy_from_slice(&inline);
    }
    for ((_, v), (_, off, _)) in obj.0.iter().zip(&slots) {
        let at = table + off;
        let target = match v {
            Val::Str(s) => write_vec(out, s.len(), s.as_bytes()),
            Val::Bytes(b) => write_vec(out, b.len(), b),
            Val::Ints(x) => write_vec(
                out,
                x.len(),
                &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
            ),
            Val::Floats(x) => write_vec(
                out,
                x.len(),
                &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
            ),
            Val::Longs(x) => write_vec(
                out,
                x.len(),
                &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
            ),
            Val::Table(t) => write_table(out, t),
            Val::Tables(ts) => {
                let start = write_vec(out, ts.len(), &vec![0u8; 4 * ts.len()]);
                for (i, t) in ts.iter().enumerate() {
                    let slot = start + 4 + 4 * i;
                    let child = write_table(out, t);
                    out[slot..slot + 4].copy_from_slice(&((child - slot) as u32).to_le_bytes());
                }
                start
            }
            _ => continue,
        };
        out[at..at + 4].copy_from_slice(&((target - at) as u32).to_le_bytes());
    }
    table
}

fn write_vec(out: &mut Vec<u8>, len: usize, body: &[u8]) -> usize {
    let start = out.len();
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(body);
    start
}

/// `Tensor` table: shape, type code, buffer index, name.
pub fn tensor(name: &str, shape: &[i32], dtype: i8, buffer: u32) -> Obj {
    Obj::default()
        .with(0, Val::Ints(shape.to_vec()))
        .with(1, Val::I8(dtype))
        .with(2, Val::U32(buffer))
        .with(3, Val::Str(name.into()))
}

/// `Operator` table with an options union `(type, table)`.
pub fn operator(opcode: u32, inputs: &[i32], outputs: &[i32], options: Option<(u8, Obj)>) -> Obj {
    let mut op = Obj::default()
        .with(0, Val::U32(opcode))
        .with(1, Val::Ints(inputs.to_vec()))
        .with(2, Val::Ints(outputs.to_vec()));
    if let Some((ty, table)) = options {
        op = op.with(3, Val::U8(ty)).with(4, Val::Table(table));
    }
    op
}

/// `OperatorCode` table using the extended `builtin_code` field (and the
/// deprecated byte field set as converters do, saturated at 127).
pub fn opcode(code: i32) -> Obj {
    Obj::default()
        .with(0, Val::I8(code.min(127) as i8))
        .with(3, Val::I32(code))
}

/// `Buffer` table with inline data.
pub fn buffer(data: Vec<u8>) -> Obj {
    if data.is_empty() {
        Obj::default()
    } else {
        Obj::default().with(0, Val::Bytes(data))
    }
}

/// A `Model` with one subgraph.
pub fn model(
    codes: Vec<Obj>,
    tensors: Vec<Obj>,
    inputs: &[i32],
    outputs: &[i32],
    ops: Vec<Obj>,
    buffers: Vec<Obj>,
) -> Obj {
    let sg = Obj::default()
        .with(0, Val::Tables(tensors))
        .with(1, Val::Ints(inputs.to_vec()))
        .with(2, Val::Ints(outputs.to_vec()))
        .with(3, Val::Tables(ops))
        .with(4, Val::Str("main".into()));
    Obj::default()
        .with(0, Val::U32(3))
        .with(1, Val::Tables(codes))
        .with(2, Val::Tables(vec![sg]))
        .with(4, Val::Tables(buffers))
}

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn i32_bytes(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

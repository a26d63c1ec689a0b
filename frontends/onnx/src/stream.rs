//! Incremental decoding of a `ModelProto`, so loading needs about one copy of the weights.
//!
//! The wire format is walked by hand at the two levels that hold the weights (`ModelProto`
//! and its `graph`). Each initializer (`GraphProto` field 5) is read, decoded with prost and
//! turned into a `TensorData` at once, so a file's raw weight bytes are never all held next to
//! the decoded ones. Every other field is copied as it is into a small buffer that prost
//! decodes afterwards; protobuf's merge rules make that equal to decoding the whole message.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use bytes::Bytes;
use prost::Message;

use crate::error::{OnnxError, Result};
use crate::proto::{GraphProto, ModelProto, TensorProto};
use crate::tensor::TensorData;
use crate::tensor_io::tensor_from_proto;

/// `ModelProto.graph` and `GraphProto.initializer` field numbers.
const MODEL_GRAPH: u64 = 7;
const GRAPH_INITIALIZER: u64 = 5;
/// Length-delimited wire type.
const LEN: u64 = 2;

/// A decoded model: the header fields, the graph without initializers, and the initializers.
pub(crate) struct Decoded {
    pub model: ModelProto,
    pub graph: Option<GraphProto>,
    pub initializers: BTreeMap<String, TensorData>,
}

/// Where the encoded bytes come from.
pub(crate) enum Input {
    /// Read in pieces; payloads are copied out of the file one at a time.
    File(BufReader<File>),
    /// Already in memory; payloads are zero-copy slices.
    Memory(Bytes),
}

/// A position in the input plus its total length, for bounds checks and messages.
struct Wire<'a> {
    input: Input,
    pos: u64,
    len: u64,
    source: &'a str,
}

impl Wire<'_> {
    fn error(&self, message: impl std::fmt::Display) -> OnnxError {
        OnnxError::Decode {
            path: self.source.to_string(),
            len: self.len as usize,
            message: format!("at byte {}: {message}", self.pos),
        }
    }

    fn byte(&mut self) -> Result<u8> {
        if self.pos >= self.len {
            return Err(self.error("unexpected end of data"));
        }
        let b = match &mut self.input {
            Input::Memory(bytes) => bytes[self.pos as usize],
            Input::File(r) => {
                let mut b = [0u8; 1];
                r.read_exact(&mut b).map_err(|e| self.error(e))?;
                b[0]
            }
        };
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.error("varint is longer than 10 bytes"))
    }

    /// The next `n` bytes.
    fn take(&mut self, n: u64) -> Result<Bytes> {
        if n > self.len - self.pos {
            return Err(self.error(format!(
                "a field of {n} bytes runs past the end ({} bytes left)",
                self.len - self.pos
            )));
        }
        let start = self.pos as usize;
        let out = match &mut self.input {
            Input::Memory(bytes) => bytes.slice(start..start + n as usize),
            Input::File(r) => {
                let mut buf = vec![0u8; n as usize];
                r.read_exact(&mut buf).map_err(|e| self.error(e))?;
                Bytes::from(buf)
            }
        };
        self.pos += n;
        Ok(out)
    }

    /// Copies the value of a field with wire type `wire` (its key already written) to `out`.
    fn copy_value(&mut self, wire: u64, out: &mut Vec<u8>) -> Result<()> {
        let fixed = match wire {
            0 => {
                let v = self.varint()?;
                prost::encoding::encode_varint(v, out);
                return Ok(());
            }
            1 => 8,
            5 => 4,
            LEN => {
                let n = self.varint()?;
                prost::encoding::encode_varint(n, out);
                n
            }
            other => return Err(self.error(format!("unsupported wire type {other}"))),
        };
        out.extend_from_slice(&self.take(fixed)?);
        Ok(())
    }

    /// Reads a field key: `(field number, wire type)`.
    fn key(&mut self) -> Result<(u64, u64)> {
        let key = self.varint()?;
        let field = key >> 3;
        if !(1..1 << 29).contains(&field) {
            return Err(self.error(format!("invalid field number {field}")));
        }
        Ok((field, key & 7))
    }
}

/// Decodes a model from `input` (`len` bytes); `source` names it in messages and `base_dir`
/// resolves external tensor data.
pub(crate) fn decode(
    input: Input,
    len: u64,
    source: &str,
    base_dir: Option<&Path>,
) -> Result<Decoded> {
    let mut w = Wire {
        input,
        pos: 0,
        len,
        source,
    };
    let mut model_rest = Vec::new();
    let mut graph_rest = Vec::new();
    let mut has_graph = false;
    let mut initializers = BTreeMap::new();
    while w.pos < w.len {
        let (field, wire) = w.key()?;
        if field == MODEL_GRAPH && wire == LEN {
            let n = w.varint()?;
            let end = w.pos.saturating_add(n);
            if end > w.len {
                return Err(w.error(format!("the graph of {n} bytes runs past the end")));
            }
            has_graph = true;
            graph(&mut w, end, &mut graph_rest, &mut initializers, base_dir)?;
        } else {
            prost::encoding::encode_key(field as u32, wire_type(&w, wire)?, &mut model_rest);
            w.copy_value(wire, &mut model_rest)?;
        }
    }
    let proto_err = |what: &str, e: prost::DecodeError| OnnxError::Decode {
        path: source.to_string(),
        len: len as usize,
        message: format!("{what}: {e}"),
    };
    let model = ModelProto::decode(model_rest.as_slice()).map_err(|e| proto_err("model", e))?;
    let graph = if has_graph {
        Some(GraphProto::decode(graph_rest.as_slice()).map_err(|e| proto_err("graph", e))?)
    } else {
        None
    };
    Ok(Decoded {
        model,
        graph,
        initializers,
    })
}

/// Walks one `graph` field up to byte `end`: initializers are decoded into `initializers`
/// (a later one of the same name wins, as in protobuf), everything else goes to `rest`.
fn graph(
    w: &mut Wire<'_>,
    end: u64,
    rest: &mut Vec<u8>,
    initializers: &mut BTreeMap<String, TensorData>,
    base_dir: Option<&Path>,
) -> Result<()> {
    while w.pos < end {
        let (field, wire) = w.key()?;
        if field == GRAPH_INITIALIZER && wire == LEN {
            let n = w.varint()?;
            let at = w.pos;
            let bytes = w.take(n)?;
            let t = TensorProto::decode(bytes).map_err(|e| OnnxError::Decode {
                path: w.source.to_string(),
                len: w.len as usize,
                message: format!("initializer at byte {at}: {e}"),
            })?;
            let data = tensor_from_proto(&t, base_dir)?;
            initializers.insert(t.name, data);
        } else {
            prost::encoding::encode_key(field as u32, wire_type(w, wire)?, rest);
            w.copy_value(wire, rest)?;
        }
    }
    if w.pos != end {
        return Err(w.error("a graph field overruns the graph's length"));
    }
    Ok(())
}

fn wire_type(w: &Wire<'_>, wire: u64) -> Result<prost::encoding::WireType> {
    prost::encoding::WireType::try_from(wire)
        .map_err(|_| w.error(format!("unsupported wire type {wire}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{ramp_f32, ModelBuilder};
    use crate::proto::GraphProto;

    fn model() -> ModelProto {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[1, 3])
            .initializer("w", &ramp_f32(&[4, 3]))
            .initializer("b", &ramp_f32(&[4]))
            .node("Gemm", "fc", &["x", "w", "b"], &["y"], &[])
            .output("y", &[1, 4]);
        let mut m = b.build();
        m.producer_name = "test".into();
        m
    }

    fn decode_mem(bytes: Vec<u8>) -> Result<Decoded> {
        let len = bytes.len() as u64;
        decode(Input::Memory(Bytes::from(bytes)), len, "m.onnx", None)
    }

    /// The graph split over two `graph` fields, with model fields after each part: protobuf
    /// merges them, and so must the incremental decoder.
    #[test]
    fn split_graph_and_interleaved_fields_decode_like_prost() {
        let full = model();
        let mut graph = full.graph.clone().expect("graph");
        let second = GraphProto {
            initializer: graph.initializer.split_off(1),
            node: std::mem::take(&mut graph.node),
            ..Default::default()
        };
        let part = |g: GraphProto, producer: &str| ModelProto {
            graph: Some(g),
            producer_name: producer.into(),
            ..Default::default()
        };
        let mut bytes = ModelProto {
            graph: None,
            ..full.clone()
        }
        .encode_to_vec();
        bytes.extend(part(graph, "first").encode_to_vec());
        bytes.extend(part(second, "test").encode_to_vec());

        let d = decode_mem(bytes).expect("decodes");
        let mut expected = full;
        let mut g = expected.graph.take().expect("graph");
        let inits = std::mem::take(&mut g.initializer);
        assert_eq!(d.model.producer_name, "test", "the last scalar wins");
        assert_eq!(d.model.opset_import, expected.opset_import);
        let got = d.graph.expect("graph");
        assert_eq!(got.node, g.node);
        assert_eq!(got.input, g.input);
        assert_eq!(got.output, g.output);
        assert!(got.initializer.is_empty());
        let names: Vec<&String> = d.initializers.keys().collect();
        assert_eq!(names, ["b", "w"]);
        for t in &inits {
            let want = crate::tensor_io::tensor_from_proto(t, None).expect("tensor");
            assert_eq!(d.initializers[&t.name], want, "{}", t.name);
        }
    }

    #[test]
    fn file_and_memory_inputs_agree() {
        let bytes = model().encode_to_vec();
        let dir = std::env::temp_dir().join(format!("hailo-onnx-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("m.onnx");
        std::fs::write(&path, &bytes).expect("write");
        let file = File::open(&path).expect("open");
        let from_file = decode(
            Input::File(BufReader::new(file)),
            bytes.len() as u64,
            "m.onnx",
            None,
        )
        .expect("decodes from file");
        let from_mem = decode_mem(bytes).expect("decodes from memory");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(from_file.model, from_mem.model);
        assert_eq!(from_file.graph, from_mem.graph);
        assert_eq!(from_file.initializers, from_mem.initializers);
    }

    #[test]
    fn bad_wire_data_names_the_byte_offset() {
        // Field 7 (graph), length 200 (varint 0xc8 0x01), but only 2 bytes follow.
        let err = decode_mem(vec![0x3a, 0xc8, 0x01, 0x0a, 0])
            .err()
            .expect("fails");
        assert_eq!(
            err.to_string(),
            "'m.onnx' (5 bytes) is not a valid ONNX model: at byte 3: the graph of 200 bytes \
             runs past the end; the file is truncated, corrupted or not an ONNX protobuf"
        );
        // Wire type 3 (start group) is not used by ONNX.
        let err = decode_mem(vec![0x0b]).err().expect("fails");
        assert!(
            err.to_string()
                .contains("at byte 1: unsupported wire type 3"),
            "{err}"
        );
        // Field number 0 is invalid.
        let err = decode_mem(vec![0x00, 0x00]).err().expect("fails");
        assert!(
            err.to_string()
                .contains("at byte 1: invalid field number 0"),
            "{err}"
        );
    }
}

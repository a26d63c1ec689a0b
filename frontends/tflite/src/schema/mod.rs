//! Typed accessors for the TFLite schema (`schema.fbs`, namespace `tflite`).
//!
//! Decodes the tables the frontend needs (Model, OperatorCode, SubGraph,
//! Tensor, QuantizationParameters, Operator, Buffer, Metadata) from the
//! generic [`crate::flatbuf`] reader using the field ids of the published
//! schema. Values are returned raw (as stored); semantic checks such as index
//! ranges are done by [`crate::lower`]. Builtin options stay lazily typed
//! ([`BuiltinOptionsRef`]) and are decoded per operator by [`options`].

pub mod opnames;
pub mod options;

use crate::error::{Result, TfliteError};
use crate::flatbuf::Table;

pub use options::BuiltinOptionsRef;

/// Field ids of table `Model`.
mod model_field {
    pub const VERSION: u16 = 0;
    pub const OPERATOR_CODES: u16 = 1;
    pub const SUBGRAPHS: u16 = 2;
    pub const DESCRIPTION: u16 = 3;
    pub const BUFFERS: u16 = 4;
    pub const METADATA: u16 = 6;
}

/// Builtin code of `CUSTOM` operators.
pub const CUSTOM_CODE: i32 = 32;

/// A decoded TFLite model (all subgraphs; the frontend uses subgraph 0).
#[derive(Debug, Clone)]
pub struct Model<'a> {
    /// Schema version (3 for current models).
    pub version: u32,
    /// Operator codes, indexed by [`Operator::opcode_index`].
    pub operator_codes: Vec<OperatorCode>,
    /// Subgraphs; index 0 is the main graph.
    pub subgraphs: Vec<SubGraph<'a>>,
    /// Free-form description written by the converter.
    pub description: Option<String>,
    /// Raw data buffers, indexed by [`TensorDef::buffer`].
    pub buffers: Vec<Buffer<'a>>,
    /// Named metadata entries.
    pub metadata: Vec<Metadata>,
}

/// Table `OperatorCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCode {
    /// Effective builtin code: the larger of `deprecated_builtin_code` and
    /// `builtin_code`, as the TFLite runtime resolves it (old files only set
    /// the byte field, new files set both, codes >= 127 only the int field).
    pub builtin_code: i32,
    /// Name of a custom operator (`builtin_code == CUSTOM`).
    pub custom_code: Option<String>,
    /// Operator version.
    pub version: i32,
}

impl OperatorCode {
    /// Human-readable name: `CONV_2D`, `CUSTOM:Name`, or `BUILTIN_<code>`.
    pub fn name(&self) -> String {
        if self.builtin_code == CUSTOM_CODE {
            return format!(
                "CUSTOM:{}",
                self.custom_code.as_deref().unwrap_or("<unnamed>")
            );
        }
        usize::try_from(self.builtin_code)
            .ok()
            .and_then(|c| opnames::BUILTIN_OPERATOR_NAMES.get(c))
            .map_or_else(
                || format!("BUILTIN_{}", self.builtin_code),
                |n| (*n).to_string(),
            )
    }
}

/// Table `SubGraph`.
#[derive(Debug, Clone)]
pub struct SubGraph<'a> {
    /// Tensors.
    pub tensors: Vec<TensorDef>,
    /// Input tensor indices.
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// Operators in execution order.
    pub operators: Vec<Operator<'a>>,
    /// Subgraph name.
    pub name: Option<String>,
    /// Byte offset of the table.
    pub offset: usize,
}

/// Table `Tensor`.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDef {
    /// Static shape as stored.
    pub shape: Vec<i32>,
    /// Raw `TensorType` code.
    pub dtype: i8,
    /// Index into [`Model::buffers`] (0 = no data).
    pub buffer: u32,
    /// Name.
    pub name: String,
    /// Quantization parameters, if any.
    pub quantization: Option<Quantization>,
    /// Shape with -1 for unknown dimensions, if recorded.
    pub shape_signature: Option<Vec<i32>>,
    /// True when the tensor is sparse (unsupported by the frontend).
    pub is_sparse: bool,
    /// Byte offset of the table.
    pub offset: usize,
}

/// Table `QuantizationParameters`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantization {
    /// Calibration minima.
    pub min: Vec<f32>,
    /// Calibration maxima.
    pub max: Vec<f32>,
    /// Scales (`f = scale * (q - zero_point)`).
    pub scale: Vec<f32>,
    /// Zero points.
    pub zero_point: Vec<i64>,
    /// Axis of per-channel parameters.
    pub quantized_dimension: i32,
}

/// Table `Operator`.
#[derive(Debug, Clone)]
pub struct Operator<'a> {
    /// Index into [`Model::operator_codes`].
    pub opcode_index: u32,
    /// Input tensor indices (-1 = optional input omitted).
    pub inputs: Vec<i32>,
    /// Output tensor indices.
    pub outputs: Vec<i32>,
    /// The `builtin_options` union.
    pub options: BuiltinOptionsRef<'a>,
    /// Byte offset of the table.
    pub offset: usize,
}

/// Table `Buffer`, resolved to its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer<'a> {
    /// The data: the inline `data` vector, or the `offset`/`size` range stored
    /// after the flatbuffer (models > 2 GB). Empty when the buffer has no data.
    pub data: &'a [u8],
    /// True when the data came from `offset`/`size` rather than `data`.
    pub external: bool,
    /// Byte offset of the table.
    pub offset: usize,
}

/// Table `Metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Name, e.g. `min_runtime_version`.
    pub name: String,
    /// Index into [`Model::buffers`].
    pub buffer: u32,
}

impl<'a> Model<'a> {
    /// Decodes a whole `.tflite` file.
    pub fn parse(file: &'a [u8]) -> Result<Self> {
        if file.len() < 8 {
            return Err(TfliteError::TooShort { len: file.len() });
        }
        let ident = &file[4..8];
        if ident != b"TFL3" {
            return Err(TfliteError::NotTflite {
                found: ident.escape_ascii().to_string(),
            });
        }
        let t = Table::root(file, "Model")?;
        use model_field as f;
        Ok(Self {
            version: t.scalar(f::VERSION, "version", 0)?,
            operator_codes: t
                .tables(f::OPERATOR_CODES, "operator_codes", "OperatorCode")?
                .iter()
                .map(operator_code)
                .collect::<Result<_>>()?,
            subgraphs: t
                .tables(f::SUBGRAPHS, "subgraphs", "SubGraph")?
                .iter()
                .map(subgraph)
                .collect::<Result<_>>()?,
            description: t.string(f::DESCRIPTION, "description")?.map(str::to_string),
            buffers: t
                .tables(f::BUFFERS, "buffers", "Buffer")?
                .iter()
                .map(|b| buffer(file, b))
                .collect::<Result<_>>()?,
            metadata: t
                .tables(f::METADATA, "metadata", "Metadata")?
                .iter()
                .map(|m| {
                    Ok(Metadata {
                        name: m.string(0, "name")?.unwrap_or_default().to_string(),
                        buffer: m.scalar(1, "buffer", 0)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }
}

fn operator_code(t: &Table<'_>) -> Result<OperatorCode> {
    let deprecated: i8 = t.scalar(0, "deprecated_builtin_code", 0)?;
    let extended: i32 = t.scalar(3, "builtin_code", 0)?;
    Ok(OperatorCode {
        builtin_code: extended.max(i32::from(deprecated)),
        custom_code: t.string(1, "custom_code")?.map(str::to_string),
        version: t.scalar(2, "version", 1)?,
    })
}

fn subgraph<'a>(t: &Table<'a>) -> Result<SubGraph<'a>> {
    Ok(SubGraph {
        tensors: t
            .tables(0, "tensors", "Tensor")?
            .iter()
            .map(tensor)
            .collect::<Result<_>>()?,
        inputs: t.scalars(1, "inputs")?,
        outputs: t.scalars(2, "outputs")?,
        operators: t
            .tables(3, "operators", "Operator")?
            .iter()
            .map(operator)
            .collect::<Result<_>>()?,
        name: t.string(4, "name")?.map(str::to_string),
        offset: t.offset(),
    })
}

fn tensor(t: &Table<'_>) -> Result<TensorDef> {
    let quantization = t
        .table(4, "quantization", "QuantizationParameters")?
        .map(|q| -> Result<Quantization> {
            Ok(Quantization {
                min: q.scalars(0, "min")?,
                max: q.scalars(1, "max")?,
                scale: q.scalars(2, "scale")?,
                zero_point: q.scalars(3, "zero_point")?,
                quantized_dimension: q.scalar(6, "quantized_dimension", 0)?,
            })
        })
        .transpose()?;
    let signature = t.vector(7, "shape_signature", 4)?.is_some();
    Ok(TensorDef {
        shape: t.scalars(0, "shape")?,
        dtype: t.scalar(1, "type", 0)?,
        buffer: t.scalar(2, "buffer", 0)?,
        name: t.string(3, "name")?.unwrap_or_default().to_string(),
        quantization,
        shape_signature: if signature {
            Some(t.scalars(7, "shape_signature")?)
        } else {
            None
        },
        is_sparse: t.table(6, "sparsity", "SparsityParameters")?.is_some(),
        offset: t.offset(),
    })
}

fn operator<'a>(t: &Table<'a>) -> Result<Operator<'a>> {
    Ok(Operator {
        opcode_index: t.scalar(0, "opcode_index", 0)?,
        inputs: t.scalars(1, "inputs")?,
        outputs: t.scalars(2, "outputs")?,
        options: BuiltinOptionsRef::read(t, 3, 4)?,
        offset: t.offset(),
    })
}

fn buffer<'a>(file: &'a [u8], t: &Table<'a>) -> Result<Buffer<'a>> {
    let offset: u64 = t.scalar(1, "offset", 0)?;
    let size: u64 = t.scalar(2, "size", 0)?;
    // The schema defines offset/size as valid only when offset > 1.
    if offset > 1 {
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(o, s)| o.checked_add(s).map(|end| o..end))
            .and_then(|r| file.get(r));
        let data = range.ok_or_else(|| {
            TfliteError::invalid(
                "Buffer",
                t.offset(),
                format!(
                    "external data range offset {offset} + size {size} lies outside the {}-byte file (file truncated?)",
                    file.len()
                ),
            )
        })?;
        return Ok(Buffer {
            data,
            external: true,
            offset: t.offset(),
        });
    }
    let data = t
        .vector(0, "data", 1)?
        .map(|v| v.bytes())
        .unwrap_or_default();
    Ok(Buffer {
        data,
        external: false,
        offset: t.offset(),
    })
}

//! `hailo-har`: Hailo archives (HAR), the DFC's container for a model at each stage.
//!
//! A HAR is a tar (optionally gzip-compressed) holding `<net>.hn` (the HN: Hailo's JSON
//! network description), `<net>.npz` (weights under `<net>/<layer>/kernel:0`, ...), and,
//! in archives we write, [`METADATA_MEMBER`]: state, target, model script, tool version,
//! the sha256 of the other members and the module's exact IR text; a quantized model also
//! carries [`QUANT_MEMBER`] (calibration statistics and the quantization report). Reading such an archive
//! restores the module exactly (same printed IR, same blob bytes); an archive without it
//! (as the DFC writes) is rebuilt from its HN and NPZ where every layer type is known.
//! Writing is deterministic (fixed tar fields, sorted members) and atomic.

mod error;
mod hn;
mod layers;
mod metadata;
mod quant;
mod rebuild;
mod tar;
mod weights;

pub use error::HarError;
pub use metadata::{HarMetadata, HarState, METADATA_MEMBER};
pub use quant::{LayerNoise, LayerQuant, NoiseReport, QuantReport, QUANT_MEMBER};

use hailo_ir::{print_module, Attribute, Blob, Context, Module, PrintOptions, Type};
use hailo_npz::NpyArray;
use metadata::{MemberHash, MetaDoc, ResourceEntry};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::Path;

/// The HN of a module as JSON (`name`, `net_params`, `layers` keyed `<net>/<layer>`).
pub fn hn_json(m: &Module) -> Value {
    serde_json::to_value(&hn::build(m).doc).unwrap_or(Value::Null)
}

/// What `hailo har info` shows about a module.
#[derive(Clone, Debug, PartialEq)]
pub struct HarSummary {
    pub net_name: String,
    /// Number of layers per HN type.
    pub layer_counts: BTreeMap<String, usize>,
    /// Input layers (scoped names) in graph-argument order, with HN shapes.
    pub inputs: Vec<(String, Vec<i64>)>,
    /// Output layers (scoped names) in graph-output order, with HN shapes.
    pub outputs: Vec<(String, Vec<i64>)>,
    /// Elements of all weight constants.
    pub params: u64,
    /// Bytes of all weight constants.
    pub weight_bytes: u64,
}

/// Summarizes a module through its HN view.
pub fn summarize(m: &Module) -> HarSummary {
    let view = hn::build(m);
    let layers: HashMap<&str, &Value> = view
        .doc
        .layers
        .0
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let mut layer_counts = BTreeMap::new();
    for (_, l) in &view.doc.layers.0 {
        *layer_counts
            .entry(l["type"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    let shape_of = |name: &str, field: &str| -> Vec<i64> {
        layers
            .get(name)
            .and_then(|l| l[field].get(0))
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    };
    let names = |key: &str| -> Vec<String> {
        view.doc.net_params[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let inputs = names("input_layers_order")
        .into_iter()
        .map(|n| {
            let shape = shape_of(&n, "output_shapes");
            (n, shape)
        })
        .collect();
    let outputs = names("output_layers_order")
        .into_iter()
        .map(|fed| {
            let out = view
                .doc
                .layers
                .0
                .iter()
                .find(|(_, l)| {
                    l["type"] == "output_layer"
                        && l["input"].get(0).and_then(Value::as_str) == Some(&fed)
                })
                .map_or(fed, |(k, _)| k.clone());
            (out.clone(), shape_of(&out, "input_shapes"))
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let (mut params, mut weight_bytes) = (0u64, 0u64);
    for w in view.weights.iter().filter(|w| seen.insert(w.op)) {
        if let Some(ty) = m.op(w.op).results().first().map(|&r| m.value_type(r)) {
            params += u64::try_from(ty.num_elements()).unwrap_or(0);
        }
        if let Some((_, bytes)) = m
            .attr(w.op, "value")
            .and_then(|v| weights::const_bytes(v, &m.resources))
        {
            weight_bytes += bytes.len() as u64;
        }
    }
    HarSummary {
        net_name: view.doc.name,
        layer_counts,
        inputs,
        outputs,
        params,
        weight_bytes,
    }
}

/// Writes `m` as a HAR at `path` (gzip-compressed when `gzip`), atomically: on any error
/// no file is left at `path` (an existing one is untouched).
pub fn write_har(
    m: &Module,
    ctx: &Context,
    meta: &HarMetadata,
    path: &Path,
    gzip: bool,
) -> Result<(), HarError> {
    let module_err = |message: String| HarError::Module {
        path: path.to_path_buf(),
        message,
    };
    let view = hn::build(m);
    if let Some(d) = view.duplicates.first() {
        return Err(module_err(format!(
            "layer name '{d}' is used by more than one op; HN layer names must be unique"
        )));
    }
    let net = view.doc.name.clone();
    if net.is_empty() || net.contains(['/', '\\']) || net.starts_with('.') {
        return Err(module_err(format!(
            "network name '{net}' cannot name archive members; rename the module"
        )));
    }
    let arrays = npz_arrays(m, &view).map_err(module_err)?;
    let resources = arrays.1;
    let npz =
        weights::write_npz(&arrays.0).map_err(|e| module_err(format!("building the NPZ: {e}")))?;
    let mut hn = serde_json::to_vec_pretty(&view.doc).map_err(|e| module_err(e.to_string()))?;
    hn.push(b'\n');
    let (hn_name, npz_name) = (format!("{net}.hn"), format!("{net}.npz"));
    let hash = |d: &[u8]| MemberHash {
        sha256: metadata::sha256_hex(d),
        size: d.len() as u64,
    };
    let quant = match &meta.quantization {
        Some(q) => {
            let mut b = serde_json::to_vec_pretty(q).map_err(|e| module_err(e.to_string()))?;
            b.push(b'\n');
            Some(b)
        }
        None => None,
    };
    let doc = MetaDoc {
        format: metadata::FORMAT.into(),
        format_version: metadata::FORMAT_VERSION,
        net_name: net.clone(),
        state: meta.state,
        hw_arch: meta.hw_arch.clone(),
        model_script: meta.model_script.clone(),
        tool_version: meta.tool_version.clone(),
        members: [(hn_name.clone(), hash(&hn)), (npz_name.clone(), hash(&npz))]
            .into_iter()
            .chain(quant.as_ref().map(|q| (QUANT_MEMBER.to_string(), hash(q))))
            .collect(),
        resources,
        module_ir: print_module(
            m,
            ctx,
            PrintOptions {
                generic: false,
                elide_resources: true,
            },
        ),
    };
    let mut meta_bytes = serde_json::to_vec_pretty(&doc).map_err(|e| module_err(e.to_string()))?;
    meta_bytes.push(b'\n');
    let mut members = vec![
        (hn_name, hn),
        (npz_name, npz),
        (METADATA_MEMBER.to_string(), meta_bytes),
    ];
    members.extend(quant.map(|q| (QUANT_MEMBER.to_string(), q)));
    write_members(path, &members, gzip)
}

/// The NPZ arrays (HN weights, then blobs no layer names) and the blob table.
fn npz_arrays(
    m: &Module,
    view: &hn::HnView,
) -> Result<(weights::NamedArrays, Vec<ResourceEntry>), String> {
    let mut arrays: weights::NamedArrays = Vec::new();
    let mut blob_npz: HashMap<&str, String> = HashMap::new();
    for w in &view.weights {
        let value = m.attr(w.op, "value");
        let Some((ty, bytes)) = value.and_then(|v| weights::const_bytes(v, &m.resources)) else {
            return Err(format!(
                "the constant for NPZ entry '{}' has no readable value (a dense_resource without its blob?)",
                w.npz_key
            ));
        };
        if let Some(Attribute::DenseResource { key, .. }) = value {
            blob_npz
                .entry(key.as_str())
                .or_insert_with(|| w.npz_key.clone());
        }
        if arrays.iter().all(|(k, _)| *k != w.npz_key) {
            arrays.push((w.npz_key.clone(), weights::array_from_bytes(ty, &bytes)));
        }
    }
    // Types of blobs from any op that refers to them, for the arrays no layer names.
    let mut blob_types: HashMap<&str, Type> = HashMap::new();
    for op in m.walk(m.top()) {
        for (_, a) in m.op(op).attrs() {
            if let Attribute::DenseResource { key, ty } = a {
                blob_types.entry(key.as_str()).or_insert(*ty);
            }
        }
    }
    let mut table = Vec::new();
    for (key, blob) in m.resources.iter() {
        let npz_key = match blob_npz.get(key) {
            Some(k) => k.clone(),
            None => {
                let k = format!("{}/hailo_rs_resources/{key}:0", view.doc.name);
                let ty = blob_types.get(key).copied().unwrap_or_else(|| {
                    Type::tensor(&[-1], Type::int(8, hailo_ir::Signedness::Unsigned))
                });
                arrays.push((k.clone(), weights::array_from_bytes(ty, &blob.bytes)));
                k
            }
        };
        table.push(ResourceEntry {
            key: key.to_string(),
            npz_key,
            align: blob.align,
        });
    }
    Ok((arrays, table))
}

/// Writes `bytes` to `path` atomically (temporary file + rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HarError> {
    hailo_npz::atomic::write_bytes(path, bytes).map_err(|source| HarError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `members` (name, bytes) as a HAR-style tar at `path`, sorted by name, with the
/// same fixed fields and atomicity as [`write_har`]; for tools that edit archives.
pub fn write_members(
    path: &Path,
    members: &[(String, Vec<u8>)],
    gzip: bool,
) -> Result<(), HarError> {
    let mut sorted: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    sorted.sort_by_key(|x| x.0);
    let mut bytes = tar::write(&sorted);
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let io = |source| HarError::Io {
            path: path.to_path_buf(),
            source,
        };
        enc.write_all(&bytes).map_err(io)?;
        bytes = enc.finish().map_err(io)?;
    }
    write_atomic(path, &bytes)
}

/// The regular-file members of a HAR (gzip or plain), in archive order.
pub fn read_members(path: &Path) -> Result<Vec<(String, Vec<u8>)>, HarError> {
    let raw = std::fs::read(path).map_err(|source| HarError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        // Weights barely compress; a stream inflating far more is a decompression bomb.
        let limit = (raw.len() as u64).saturating_mul(64).max(1 << 30);
        let gzip_err = |message: String| HarError::Gzip {
            path: path.to_path_buf(),
            message,
        };
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| gzip_err(e.to_string()))?;
        if out.len() as u64 > limit {
            return Err(gzip_err(format!(
                "inflates to more than {limit} bytes, far more than an archive of weights \
                 compresses; the file is damaged or a decompression bomb"
            )));
        }
        out
    } else {
        raw
    };
    let members = tar::read(&bytes).map_err(|e| HarError::Tar {
        path: path.to_path_buf(),
        offset: e.offset,
        message: e.message,
    })?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(members.len());
    let mut names = std::collections::HashSet::new();
    for mb in members {
        if !names.insert(mb.name.clone()) {
            return Err(HarError::DuplicateMember {
                path: path.to_path_buf(),
                member: mb.name,
            });
        }
        out.push((mb.name, mb.data));
    }
    Ok(out)
}

/// Reads a HAR: exactly the written module when it carries our metadata, else the module
/// rebuilt from its HN and NPZ.
pub fn read_har(path: &Path, ctx: &Context) -> Result<(Module, HarMetadata), HarError> {
    let members = read_members(path)?;
    match members.iter().find(|(n, _)| n == METADATA_MEMBER) {
        Some((_, meta)) => read_ours(path, ctx, &members, meta),
        None => read_foreign(path, &members),
    }
}

fn member<'a>(
    path: &Path,
    members: &'a [(String, Vec<u8>)],
    name: &str,
) -> Result<&'a [u8], HarError> {
    members
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, d)| d.as_slice())
        .ok_or_else(|| HarError::MissingMember {
            path: path.to_path_buf(),
            member: format!("'{name}'"),
            present: members.iter().map(|(n, _)| n.clone()).collect(),
        })
}

fn json_err(path: &Path, member: &str, e: serde_json::Error) -> HarError {
    HarError::Json {
        path: path.to_path_buf(),
        member: member.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

fn npz_err<'a>(path: &'a Path, member: &str) -> impl Fn(String) -> HarError + 'a {
    let member = member.to_string();
    move |message| HarError::Npz {
        path: path.to_path_buf(),
        member: member.clone(),
        message,
    }
}

fn read_ours(
    path: &Path,
    ctx: &Context,
    members: &[(String, Vec<u8>)],
    meta: &[u8],
) -> Result<(Module, HarMetadata), HarError> {
    let doc: MetaDoc =
        serde_json::from_slice(meta).map_err(|e| json_err(path, METADATA_MEMBER, e))?;
    let meta_err = |message: String| HarError::Metadata {
        path: path.to_path_buf(),
        member: METADATA_MEMBER.into(),
        message,
    };
    if doc.format != metadata::FORMAT || doc.format_version != metadata::FORMAT_VERSION {
        return Err(meta_err(format!(
            "format '{}' version {} is not '{}' version {}; this archive needs a newer hailo-rs",
            doc.format,
            doc.format_version,
            metadata::FORMAT,
            metadata::FORMAT_VERSION
        )));
    }
    for (name, h) in &doc.members {
        let data = member(path, members, name)?;
        let actual = metadata::sha256_hex(data);
        if actual != h.sha256 {
            return Err(HarError::Checksum {
                path: path.to_path_buf(),
                member: name.clone(),
                expected: h.sha256.clone(),
                actual,
            });
        }
    }
    let file = format!("{}:{METADATA_MEMBER}", path.display());
    let mut m = hailo_ir::parse_module(ctx, &file, &doc.module_ir).map_err(|d| {
        let mut sm = hailo_ir::SourceMgr::default();
        sm.add(&file, &doc.module_ir);
        HarError::Ir {
            path: path.to_path_buf(),
            message: sm.render(&d),
        }
    })?;
    if !doc.resources.is_empty() {
        let npz_name = format!("{}.npz", doc.net_name);
        let arrays = weights::read_npz(member(path, members, &npz_name)?)
            .map_err(npz_err(path, &npz_name))?;
        let by_key: HashMap<&str, &NpyArray> =
            arrays.iter().map(|(k, v)| (k.as_str(), v)).collect();
        for r in &doc.resources {
            let Some(a) = by_key.get(r.npz_key.as_str()) else {
                return Err(npz_err(path, &npz_name)(format!(
                    "no array '{}' for resource '{}'",
                    r.npz_key, r.key
                )));
            };
            m.resources
                .insert(&r.key, Blob::new(r.align, weights::array_bytes(a)));
        }
    }
    let mut meta = doc.to_metadata();
    if doc.members.contains_key(QUANT_MEMBER) {
        let q = member(path, members, QUANT_MEMBER)?;
        meta.quantization =
            Some(serde_json::from_slice(q).map_err(|e| json_err(path, QUANT_MEMBER, e))?);
    }
    Ok((m, meta))
}

fn read_foreign(
    path: &Path,
    members: &[(String, Vec<u8>)],
) -> Result<(Module, HarMetadata), HarError> {
    let hns: Vec<&(String, Vec<u8>)> = members
        .iter()
        .filter(|(n, _)| n.ends_with(".hn") && !n.ends_with(".fp.hn") && !n.ends_with(".native.hn"))
        .collect();
    let [(hn_name, hn_bytes)] = hns.as_slice() else {
        return Err(HarError::MissingMember {
            path: path.to_path_buf(),
            member: format!(
                "'{METADATA_MEMBER}' or exactly one '<net>.hn' (found {})",
                hns.len()
            ),
            present: members.iter().map(|(n, _)| n.clone()).collect(),
        });
    };
    let doc: hn::HnDoc =
        serde_json::from_slice(hn_bytes).map_err(|e| json_err(path, hn_name, e))?;
    let npz_name = format!("{}.npz", hn_name.trim_end_matches(".hn"));
    let arrays = match members.iter().find(|(n, _)| *n == npz_name) {
        Some((_, d)) => weights::read_npz(d).map_err(npz_err(path, &npz_name))?,
        None if doc
            .layers
            .0
            .iter()
            .all(|(_, l)| !layers::needs_weights(l["type"].as_str().unwrap_or(""))) =>
        {
            Vec::new()
        }
        None => member(path, members, &npz_name).map(|_| Vec::new())?,
    };
    let m = rebuild::rebuild(&doc, &arrays).map_err(|e| match e {
        rebuild::RebuildError::Layer { layer, message } => HarError::Hn {
            path: path.to_path_buf(),
            layer,
            message,
        },
        rebuild::RebuildError::Unsupported(layers) => HarError::UnsupportedLayers {
            path: path.to_path_buf(),
            layers,
            supported: layers::supported_types(),
        },
    })?;
    let meta = HarMetadata {
        tool_version: "unknown (archive without hailo-rs metadata)".into(),
        ..HarMetadata::default()
    };
    Ok((m, meta))
}

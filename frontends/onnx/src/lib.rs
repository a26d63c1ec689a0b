//! ONNX frontend, framework side: decodes `.onnx` files (hand-written prost messages), resolves
//! initializers / `Constant` nodes / external data into `ndarray` tensors, validates the graph,
//! folds constant shape computations, infers every tensor's static shape, and cuts subgraphs
//! between start and end nodes. The ONNX → `hl` conversion builds on `OnnxModel`.

mod analyze;
mod attr;
pub mod builder;
mod einsum;
mod error;
mod fold;
mod graph;
mod load;
pub mod proto;
mod select;
mod shape;
mod stream;
mod tensor;
mod tensor_io;
pub mod to_hl;
mod validate;

pub use attr::Attribute;
pub use error::{OnnxError, Result, WeightRankError};
pub use graph::{Dim, IssueKind, Node, NodeIssue, OnnxModel, Removal, RemovedNode, ValueInfo};
pub use load::{load, load_bytes, load_with, parse_input_shape, LoadOptions};
pub use tensor::{DataType, TensorData};
pub use tensor_io::{tensor_from_proto, tensor_to_proto};

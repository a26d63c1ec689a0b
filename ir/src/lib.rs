//! `hailo-ir`: the core IR of the Hailo compiler, shaped like MLIR.
//!
//! Generic ops in generational arenas with typed views ([`define_op!`]),
//! interned types, attributes with a blob store for weights, locations,
//! diagnostics, the textual IR (printer and parser), the verifier, the
//! rewriter with its greedy driver, and the pass manager. Dialects live in
//! their own crates and register [`Dialect`]s in a [`Context`].

pub mod arena;
pub mod attr_dict;
pub mod attrs;
pub mod blob;
pub mod builtin;
pub mod diag;
pub mod dialect;
pub mod expected_diags;
pub mod interface;
pub mod intern;
pub mod lexer;
pub mod location;
pub mod module;
pub mod parser;
pub mod pass;
pub mod printer;
pub mod rewrite;
pub mod schema;
pub mod small_str;
pub mod syntax;
pub mod types;
pub mod verifier;

pub use attr_dict::{AttrDict, Attrs};
pub use attrs::{Attribute, DenseAttr, DenseValues};
pub use blob::{Blob, BlobStore};
pub use diag::{DiagEngine, Diagnostic, Severity, SourceMgr};
pub use dialect::{Context, Dialect, FoldResult, OpDef, RegionVerifyFn, Syntax, Traits};
pub use interface::{ExternalModels, InterfaceImpl, OpTable, OpType};
pub use intern::Sym;
pub use location::Location;
pub use module::{BlockId, Module, OpId, OpSpec, Operation, RegionId, ValueId};
pub use parser::parse_module;
pub use printer::{print_module, PrintOptions};
pub use rewrite::{apply_patterns_greedily, GreedyConfig, RewritePattern, Rewriter};
pub use schema::{AttrKind, AttrSpec, Schema};
pub use small_str::SmallStr;
pub use types::{Signedness, Type, TypeKind};

//! Malformed model scripts (`tests/malformed/*.alls`) each give exactly one precise, located error.
//!
//! Files named `strict_*` are checked with `strict` (unknown names become errors); files named
//! `layer_*` are valid scripts whose layer references fail to resolve against [`MODEL_LAYERS`].
//! The rendered diagnostic of each file is an insta snapshot.

use hailo_alls::{check_source, CheckOptions, Diagnostic, LayerScope, SourceFile};
use std::collections::BTreeMap;
use std::path::Path;

const MODEL_LAYERS: &[&str] = &[
    "net/input_layer1",
    "net/conv1",
    "net/conv2",
    "net/conv3",
    "net/dw1",
    "net/fc1",
    "net/output_layer1",
    "other/fc1",
];

fn diagnostics(name: &str, src: &SourceFile) -> Vec<Diagnostic> {
    let options = CheckOptions {
        strict: name.starts_with("strict_"),
    };
    let checked = check_source(src, options);
    if !checked.diagnostics.is_empty() {
        return checked.diagnostics;
    }
    let layers: Vec<String> = MODEL_LAYERS.iter().map(|s| s.to_string()).collect();
    let original = BTreeMap::from([("conv1/BiasAdd".to_string(), "net/conv1".to_string())]);
    let mut scope = LayerScope::new(&layers, &original);
    scope.resolve_script(&checked.script).1
}

#[test]
fn each_malformed_script_gives_one_located_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("malformed dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "alls"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} malformed scripts", files.len());
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        let src = SourceFile::new(format!("{name}.alls"), text);
        let diags = diagnostics(&name, &src);
        let rendered: Vec<String> = diags.iter().map(|d| d.render(&src)).collect();
        assert_eq!(diags.len(), 1, "{name}: {}", rendered.join("\n"));
        assert!(diags[0].is_error(), "{name}: {}", rendered[0]);
        insta::assert_snapshot!(name, rendered[0]);
    }
}

#[test]
fn deeply_nested_lists_are_a_located_error_not_a_stack_overflow() {
    let depth = 30_000;
    let text = format!(
        "resize(resize_shapes={}1{})\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let src = SourceFile::new("deep.alls", text);
    let diags = check_source(&src, CheckOptions::default()).diagnostics;
    let first = diags.first().expect("an error");
    assert_eq!(
        first.message,
        "`[` nested more than 128 levels deep; no model nests this deep, the file is damaged \
         or was not written by a model tool"
    );
    assert_eq!(first.span.start, "resize(resize_shapes=".len() + 128);
}

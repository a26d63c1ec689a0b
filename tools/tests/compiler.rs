//! `hailo compiler --stop-after=phys` as a user meets it: the shared digits CNN parsed, quantized
//! and lowered to physical layers following a model script's compilation commands (manual and
//! automatic defuse, subclusters, placement, buffers), with a located warning for a command the
//! physical passes do not honour yet; and the errors a user can hit.

mod common;

use common::{digits_har, hailo, phys_summary, scratch};

fn quantized_digits(dir: &std::path::Path) -> String {
    digits_har(dir);
    let (ok, _, err) = hailo(
        &[
            "--quiet",
            "optimize",
            "digits.har",
            "--use-random-calib-set",
            "-o",
            "digits_q.har",
        ],
        dir,
    );
    assert!(ok, "{err}");
    "digits_q.har".into()
}

#[test]
fn a_model_script_shapes_the_physical_layers() {
    let dir = scratch("compiler-phys");
    let har = quantized_digits(&dir);
    std::fs::write(
        dir.join("c.alls"),
        "performance_param(fps=50000)\n\
         conv2_d0, conv2_d1, conv2_dc = defuse(conv2, 2)\n\
         compilation_param(conv2_d0, number_of_subclusters=4)\n\
         place(3, [conv1])\n\
         buffers(conv1, conv2_d0, 9)\n\
         m1 = merge(maxpool1, avgpool1)\n\
         allocator_param(timeout=100)\n",
    )
    .unwrap();
    let (ok, _, err) = hailo(
        &[
            "compiler",
            &har,
            "--model-script",
            "c.alls",
            "--stop-after=phys",
            "--hir-path",
            "p.hir",
            "--dump-pass-pipeline",
        ],
        &dir,
    );
    assert!(ok, "{err}");
    assert_eq!(
        err,
        "c.alls:7:1: warning: `allocator_param(timeout)` is not honoured yet by the physical passes\n\
         builtin.module(builtin.graph(quant-to-phys{fps=50000},phys-remove-nodes,phys-defuse{fps=50000 layers=[conv2:2:features]},\
         phys-shortcuts,phys-split-concats,phys-sub-splitters,phys-assign{subclusters=[conv2_d0:4] clusters=[conv1:3]},phys-merge{layers=[maxpool1+avgpool1:m1]},\
         phys-output-mux,phys-buffers{edges=[conv1:conv2_d0:9]},phys-verify))\n\
         wrote p.hir (physical IR)\n"
    );
    let hir = std::fs::read_to_string(dir.join("p.hir")).unwrap();
    let ctx = hailo_tools::context::full_context(false);
    let m = hailo_ir::parse_module(&ctx, "p.hir", &hir).expect("the written IR parses");
    // conv2 (8x8 x 3x3 x 32 x 64 = 1,179,648 MACs) in 2 parts of 32 features: 589,824 MACs,
    // 25.6e9 / 589,824 = 43,403 fps per subcluster -> 2 for 50,000 (conv2_d0: 4 by the script).
    // conv3 (8x8 x 3x3 x 64 x 128 = 4,718,592 MACs) reaches 43,403 fps with 8: split
    // automatically in 2 parts of 64 features at 10,851 fps per subcluster -> 5 each.
    // Buffers: window + stride (3x3/2: 5, 3x3/1: 4, 2x2/2 pool: 4, 4x4/4 pool: 8, else 2);
    // 9 rows by the script on conv1 -> conv2_d0, so conv2_d1's output waits (9 - 5) / 16 of a
    // frame longer at the concat: 2 + 4/16 x 8 = 4 rows. fc1 reads the global pool's 1x1 map
    // (the Flatten between them goes, as in the vendor's graphs), and its [1, 10] output
    // streams to the host through 2 rows.
    assert_eq!(
        phys_summary(&m),
        [
            "phys.buffer rows=5 : 1x32x32x3",
            "phys.layer layer=\"conv1\" kind=\"conv\" subclusters=1 cluster=3 : 1x16x16x32",
            "phys.buffer rows=9 : 1x16x16x32",
            "phys.layer layer=\"conv2_d0\" kind=\"conv\" subclusters=4 defuse=\"features\" part=[0, 2] slice=[0, 32] : 1x8x8x32",
            "phys.buffer rows=5 : 1x16x16x32",
            "phys.layer layer=\"conv2_d1\" kind=\"conv\" subclusters=2 defuse=\"features\" part=[1, 2] slice=[32, 64] : 1x8x8x32",
            "phys.buffer rows=2 : 1x8x8x32",
            "phys.buffer rows=4 : 1x8x8x32",
            "phys.concat layer=\"conv2_dc\" defuse=\"features\" : 1x8x8x64",
            "phys.buffer rows=4 : 1x8x8x64",
            "phys.layer layer=\"conv3_d0\" kind=\"conv\" subclusters=5 defuse=\"features\" part=[0, 2] slice=[0, 64] : 1x8x8x64",
            "phys.buffer rows=4 : 1x8x8x64",
            "phys.layer layer=\"conv3_d1\" kind=\"conv\" subclusters=5 defuse=\"features\" part=[1, 2] slice=[64, 128] : 1x8x8x64",
            "phys.buffer rows=2 : 1x8x8x64",
            "phys.buffer rows=2 : 1x8x8x64",
            "phys.concat layer=\"conv3_dc\" defuse=\"features\" : 1x8x8x128",
            "phys.buffer rows=4 : 1x8x8x128",
            "phys.layer layer=\"maxpool1\" kind=\"maxpool\" subclusters=1 merged=\"m1\" merge_index=0 : 1x4x4x128",
            "phys.buffer rows=8 : 1x4x4x128",
            "phys.layer layer=\"avgpool1\" kind=\"avgpool\" subclusters=1 merged=\"m1\" merge_index=1 : 1x1x1x128",
            "phys.buffer rows=2 : 1x1x1x128",
            "phys.layer layer=\"fc1\" kind=\"dense\" subclusters=1 : 1x10",
            "phys.buffer rows=2 : 1x10",
        ]
    );
}

#[test]
fn compiler_errors_name_the_problem() {
    let dir = scratch("compiler-errors");
    let har = digits_har(&dir);
    let (ok, _, err) = hailo(
        &[
            "compiler",
            har.to_str().unwrap(),
            "--stop-after=phys",
            "--hir-path",
            "p.hir",
        ],
        &dir,
    );
    assert!(!ok);
    assert!(
        err.ends_with(
            "digits.har: the model is hailo_model, not quantized; run `hailo optimize` first\n"
        ),
        "{err}"
    );
    assert!(!dir.join("p.hir").exists());
    let har = quantized_digits(&dir);
    std::fs::write(
        dir.join("bad.alls"),
        "a, b = defuse(conv2, 2)\nplace(1, [conv9])\n",
    )
    .unwrap();
    let (ok, _, err) = hailo(
        &[
            "compiler",
            &har,
            "--model-script",
            "bad.alls",
            "--stop-after=phys",
            "--hir-path",
            "p.hir",
        ],
        &dir,
    );
    assert!(!ok);
    assert!(
        err.starts_with("error: bad.alls:2:11: error: unknown layer `conv9`"),
        "{err}"
    );
    std::fs::write(dir.join("bad.alls"), "a, b = defuse(conv2, 2)\n").unwrap();
    let (ok, _, err) = hailo(
        &[
            "compiler",
            &har,
            "--model-script",
            "bad.alls",
            "--stop-after=phys",
            "--hir-path",
            "p.hir",
        ],
        &dir,
    );
    assert!(!ok);
    assert_eq!(
        err,
        "error: bad.alls:1:1: error: phys-defuse names the parts of 'conv2' conv2_d0, conv2_d1, conv2_dc; the script names them a, b\n"
    );
}

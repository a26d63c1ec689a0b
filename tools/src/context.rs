//! The context every tool uses: all dialects of the project registered.

use hailo_ir::Context;

pub fn full_context(allow_unregistered: bool) -> Context {
    let mut ctx = Context::new();
    ctx.register(hailo_dialect_hl::dialect());
    ctx.register(hailo_dialect_quant::dialect());
    ctx.register(hailo_dialect_phys::dialect());
    ctx.register(hailo_dialect_cluster::dialect());
    ctx.register(hailo_dialect_test::dialect());
    ctx.allow_unregistered = allow_unregistered;
    ctx
}

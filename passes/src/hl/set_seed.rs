//! `hl-set-seed`: the model script's `set_seed(seed)`. Records the global random seed on the
//! module (`hailo.seed`) for the optimization stages that draw random numbers.

use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Attribute, Diagnostic, Module, OpId, Type};

hailo_ir::pass_options! {
    pub struct SetSeedOptions {
        /// The global random seed (non-negative).
        seed: i64 = -1,
    }
}

pub struct SetSeed(SetSeedOptions);

/// The module attribute holding the seed.
pub const SEED: &str = "hailo.seed";

/// The seed `set_seed` recorded on `m`, if any.
pub fn seed_of(m: &Module) -> Option<u64> {
    m.attr(m.top(), SEED)
        .and_then(Attribute::as_i64)
        .and_then(|s| u64::try_from(s).ok())
}

impl PassDef for SetSeed {
    const NAME: &'static str = "hl-set-seed";
    const SUMMARY: &'static str = "Record the global random seed on the module";
    const ANCHOR: Option<&'static str> = None;
    type Options = SetSeedOptions;

    fn new(o: SetSeedOptions) -> Self {
        SetSeed(o)
    }
    fn options(&self) -> &SetSeedOptions {
        &self.0
    }

    fn run(
        &mut self,
        m: &mut Module,
        root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        if self.0.seed < 0 {
            return Err(cx.fail(Diagnostic::error(
                m.op(root).loc.clone(),
                format!(
                    "{}: option 'seed' must be a non-negative integer, got {}",
                    Self::NAME,
                    self.0.seed
                ),
            )));
        }
        m.set_attr(root, SEED, Attribute::Int(self.0.seed, Type::i64()));
        Ok(Preserved::All)
    }
}

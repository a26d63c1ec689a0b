//! `test-options`: prints its parsed, typed options, to test the option
//! grammar (`{k=v list=[1,2]}`), defaults and unknown-key errors.

use hailo_ir::pass::{PassCx, PassDef, PassFailed, Preserved};
use hailo_ir::{Module, OpId};

hailo_ir::pass_options! {
    pub struct TestOptions {
        /// An integer.
        int_opt: i64 = 0,
        /// A list of integers.
        list: Vec<i64> = Vec::new(),
        /// A string.
        name: String = String::new(),
        /// A flag.
        flag: bool = false,
        /// A float.
        ratio: f64 = 0.5,
    }
}

pub struct TestOptionsPass(TestOptions);

impl PassDef for TestOptionsPass {
    const NAME: &'static str = "test-options";
    const SUMMARY: &'static str = "Test: print the parsed pass options";
    const ANCHOR: Option<&'static str> = None;
    type Options = TestOptions;

    fn new(o: TestOptions) -> Self {
        TestOptionsPass(o)
    }
    fn options(&self) -> &TestOptions {
        &self.0
    }

    fn run(
        &mut self,
        _m: &mut Module,
        _root: OpId,
        cx: &mut PassCx<'_>,
    ) -> Result<Preserved, PassFailed> {
        let o = &self.0;
        cx.out.push_str(&format!(
            "test-options: int-opt={} list={:?} name={:?} flag={} ratio={}\n",
            o.int_opt, o.list, o.name, o.flag, o.ratio
        ));
        Ok(Preserved::All)
    }
}

//! Crash reproducers (MLIR's `--mlir-pass-pipeline-crash-reproducer`): the IR a failing
//! pipeline started from, headed by the pipeline and the resources the driver gave the passes,
//! so `hailo-opt --run-reproducer FILE` replays the failure. `hailo-opt --reproducer` and
//! `hailo optimize --reproducer` write the same format (each tool writes the file atomically).

use std::path::PathBuf;

const HEADER: &str = "// hailo-opt reproducer";
const CONFIG: &str = "// configuration: ";

/// What a reproducer records besides the IR, as `hailo-opt` flags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reproducer {
    pub pipeline: String,
    pub allow_unregistered_dialect: bool,
    /// `--hw-arch`.
    pub hw_arch: Option<String>,
    /// `--calib-set` (absolute) and `--calib-layout`.
    pub calib_set: Option<(PathBuf, String)>,
}

/// The value of `--flag=value` or `--flag='value'` in `cfg`.
fn flag_value(cfg: &str, flag: &str) -> Option<String> {
    let rest = cfg.split(&format!("{flag}=")).nth(1)?;
    match rest.strip_prefix('\'') {
        Some(q) => Some(q[..q.find('\'')?].to_owned()),
        None => Some(rest.split(' ').next()?.to_owned()),
    }
}

impl Reproducer {
    /// The reproducer text for `input` (IR text).
    pub fn render(&self, input: &str) -> String {
        let mut cfg = format!("--pass-pipeline='{}'", self.pipeline);
        if self.allow_unregistered_dialect {
            cfg.push_str(" --allow-unregistered-dialect");
        }
        if let Some(hw) = &self.hw_arch {
            cfg.push_str(&format!(" --hw-arch={hw}"));
        }
        if let Some((path, layout)) = &self.calib_set {
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            cfg.push_str(&format!(
                " --calib-set='{}' --calib-layout={layout}",
                path.display()
            ));
        }
        let body = input.trim_start_matches('\n');
        format!("{HEADER}\n{CONFIG}{cfg}\n{body}")
    }

    /// Reads the configuration from a reproducer's header, or says which line is missing.
    pub fn parse(text: &str) -> Result<Reproducer, String> {
        let missing = || format!("no '{CONFIG}--pass-pipeline=...' header line");
        let line = text
            .lines()
            .take_while(|l| l.starts_with("//"))
            .find_map(|l| l.strip_prefix(CONFIG))
            .ok_or_else(missing)?;
        let calib = flag_value(line, "--calib-set").map(|p| {
            let layout = flag_value(line, "--calib-layout").unwrap_or_else(|| "nhwc".into());
            (PathBuf::from(p), layout)
        });
        Ok(Reproducer {
            pipeline: flag_value(line, "--pass-pipeline").ok_or_else(missing)?,
            allow_unregistered_dialect: line.contains("--allow-unregistered-dialect"),
            hw_arch: flag_value(line, "--hw-arch"),
            calib_set: calib,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_header() {
        let r = Reproducer {
            pipeline: "builtin.module(builtin.graph(cse))".into(),
            allow_unregistered_dialect: true,
            hw_arch: Some("hailo8l".into()),
            calib_set: Some(("/data/c.npy".into(), "nchw".into())),
        };
        let text = r.render("\nbuiltin.module {}\n");
        assert!(text.ends_with("\nbuiltin.module {}\n"), "{text}");
        assert_eq!(Reproducer::parse(&text), Ok(r));
        let e = Reproducer::parse("// hailo-opt reproducer\nbuiltin.module {}").unwrap_err();
        assert!(e.contains("--pass-pipeline"), "{e}");
    }
}

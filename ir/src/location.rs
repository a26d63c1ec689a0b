//! Source locations attached to every op.
//!
//! `Name` carries the original framework node name (ONNX `Conv_0`), which the
//! profiler, `from_tf(...)` and diagnostics rely on. `FileLineCol` is an
//! explicit location written by the user; `Src` is the position an op was
//! parsed from: it feeds diagnostics but is not printed, so printing stays a
//! fixed point whatever file the IR was read from. `NameAt` is a `Name`
//! with its parse position kept inline: nearly every op of an imported model
//! has one, and a boxed `Src` child would cost an allocation per op.

use crate::intern::Sym;
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum Location {
    #[default]
    Unknown,
    Name {
        name: Sym,
        child: Option<Box<Location>>,
    },
    FileLineCol {
        file: Sym,
        line: u32,
        col: u32,
    },
    /// A `Name` without a child, parsed at `file:line:col`; prints as `Name`.
    NameAt {
        name: Sym,
        file: Sym,
        line: u32,
        col: u32,
    },
    Fused(Box<[Location]>),
    /// Where the op was parsed; never printed.
    Src {
        file: Sym,
        line: u32,
        col: u32,
    },
}

impl Location {
    pub fn name(name: &str) -> Location {
        Location::Name {
            name: Sym::new(name),
            child: None,
        }
    }

    /// The first file position reachable from this location, for diagnostics.
    pub fn file_pos(&self) -> Option<(Sym, u32, u32)> {
        match self {
            Location::FileLineCol { file, line, col }
            | Location::Src { file, line, col }
            | Location::NameAt {
                file, line, col, ..
            } => Some((*file, *line, *col)),
            Location::Name { child, .. } => child.as_ref().and_then(|c| c.file_pos()),
            Location::Fused(locs) => locs.iter().find_map(|l| l.file_pos()),
            Location::Unknown => None,
        }
    }

    /// Every original framework name this location refers to, in order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names(&self, out: &mut Vec<&'static str>) {
        match self {
            Location::Name { name, .. } | Location::NameAt { name, .. } => out.push(name.as_str()),
            Location::Fused(locs) => locs.iter().for_each(|l| l.collect_names(out)),
            _ => {}
        }
    }

    /// Drops parse positions, keeping what the printer prints.
    pub fn printable(&self) -> Location {
        match self {
            Location::Src { .. } | Location::Unknown => Location::Unknown,
            Location::Name { name, child } => {
                let child = child
                    .as_ref()
                    .map(|c| c.printable())
                    .filter(|c| *c != Location::Unknown);
                Location::Name {
                    name: *name,
                    child: child.map(Box::new),
                }
            }
            Location::NameAt { name, .. } => Location::Name {
                name: *name,
                child: None,
            },
            Location::Fused(locs) => {
                let kept: Vec<Location> = locs
                    .iter()
                    .map(|l| l.printable())
                    .filter(|l| *l != Location::Unknown)
                    .collect();
                match kept.len() {
                    0 => Location::Unknown,
                    _ => Location::Fused(kept.into_boxed_slice()),
                }
            }
            other => other.clone(),
        }
    }

    /// True when printing would show something (the printer omits `loc(...)` otherwise).
    pub fn is_printable(&self) -> bool {
        match self {
            Location::Unknown | Location::Src { .. } => false,
            Location::Name { .. } | Location::NameAt { .. } | Location::FileLineCol { .. } => true,
            Location::Fused(locs) => locs.iter().any(Location::is_printable),
        }
    }

    /// Attach a parse position beneath a user location without changing how it prints.
    pub fn with_src(self, src: Location) -> Location {
        match self {
            Location::Unknown => src,
            Location::Name { name, child: None } => match src {
                Location::Src { file, line, col } => Location::NameAt {
                    name,
                    file,
                    line,
                    col,
                },
                src => Location::Name {
                    name,
                    child: Some(Box::new(src)),
                },
            },
            other => other,
        }
    }
}

impl Location {
    /// Writes the inner form (without `loc(...)`); `Src` and `Unknown` write `unknown`.
    pub fn write_to(&self, f: &mut impl fmt::Write) -> fmt::Result {
        match self {
            Location::Unknown | Location::Src { .. } => f.write_str("unknown"),
            Location::Name { name, child } => {
                crate::printer::write_quoted(f, name.as_str())?;
                match child.as_deref().filter(|c| c.is_printable()) {
                    Some(c) => {
                        f.write_str("(")?;
                        c.printable().write_to(f)?;
                        f.write_str(")")
                    }
                    None => Ok(()),
                }
            }
            Location::NameAt { name, .. } => crate::printer::write_quoted(f, name.as_str()),
            Location::FileLineCol { file, line, col } => {
                crate::printer::write_quoted(f, file.as_str())?;
                write!(f, ":{line}:{col}")
            }
            Location::Fused(locs) => {
                f.write_str("fused[")?;
                for (i, l) in locs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    l.write_to(f)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Prints the inner form (without `loc(...)`); `Src` and `Unknown` print as `unknown`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

//! Passes on the `phys` dialect: they reshape a graph of physical layers (split, join, add
//! shortcuts, portals and buffers) until every layer fits what the chip can run.

pub mod assign;
pub mod buffers;
pub mod defuse;
pub mod merge;
pub mod output_mux;
pub mod remove_nodes;
pub mod shortcuts;
pub mod split_concats;
pub mod sub_splitters;
pub mod verify;

/// The vendor's name of a run of layers (`conv18_d0-3`): `first-last`, with `last` shortened to
/// its trailing index when both are the same stem followed by an index.
pub(crate) fn range_name(first: &str, last: &str) -> String {
    let stem = |s: &str| s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (a, b) = (stem(first), stem(last));
    if a == b && a < last.len() && first[..a] == last[..b] {
        format!("{first}-{}", &last[b..])
    } else {
        format!("{first}-{last}")
    }
}

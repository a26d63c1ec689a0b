//! Passes on the `phys` dialect: they reshape a graph of physical layers (split, join, add
//! shortcuts and buffers) until every layer fits what the chip can run.

pub mod defuse;
pub mod buffers;
pub mod verify;
pub mod split_concats;

//! The model as the conversion sees it: graph structure from `OnnxModel`, constants from a
//! store that can release them. `convert` borrows the caller's constants; `convert_owned`
//! moves them into the store and drops each one once every node reading it is converted, so
//! the float weights and the `hl` blobs made from them are not both held in full (the
//! parse-memory target is under 2x the weight bytes).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Deref;
use std::rc::Rc;

use ndarray::ArrayD;

use crate::graph::{Node, OnnxModel};
use crate::tensor::TensorData;

/// A constant tensor read during conversion.
pub(crate) enum ConstRef<'a> {
    Borrowed(&'a TensorData),
    Shared(Rc<TensorData>),
}

impl Deref for ConstRef<'_> {
    type Target = TensorData;

    fn deref(&self) -> &TensorData {
        match self {
            ConstRef::Borrowed(t) => t,
            ConstRef::Shared(t) => t,
        }
    }
}

/// Where the constants live during a conversion.
pub(crate) enum Consts<'a> {
    /// The caller's model keeps them.
    Borrowed(&'a BTreeMap<String, TensorData>),
    /// Moved out of the model; each is dropped when its last reader is converted.
    Owned(RefCell<HashMap<String, Owned>>),
}

/// An owned constant and the number of nodes still to be converted that read it.
pub(crate) struct Owned {
    data: Rc<TensorData>,
    readers: usize,
}

impl Consts<'_> {
    /// Takes ownership of `constants`, counting their readers among `nodes`.
    pub fn owned(constants: BTreeMap<String, TensorData>, nodes: &[Node]) -> Consts<'static> {
        let mut map: HashMap<String, Owned> = constants
            .into_iter()
            .map(|(k, v)| {
                let entry = Owned {
                    data: Rc::new(v),
                    readers: 0,
                };
                (k, entry)
            })
            .collect();
        for node in nodes {
            for name in distinct_inputs(node) {
                if let Some(e) = map.get_mut(name) {
                    e.readers += 1;
                }
            }
        }
        Consts::Owned(RefCell::new(map))
    }

    /// Records that `node` has been converted: constants it was the last reader of are dropped.
    fn read_by(&self, node: &Node) {
        if let Consts::Owned(map) = self {
            let mut map = map.borrow_mut();
            for name in distinct_inputs(node) {
                if let Some(e) = map.get_mut(name) {
                    e.readers -= 1;
                    if e.readers == 0 {
                        map.remove(name);
                    }
                }
            }
        }
    }
}

/// The model under conversion: structure through `Deref`, constants through `constant`
/// (which shadows `OnnxModel::constant`).
#[derive(Clone, Copy)]
pub(crate) struct Net<'a> {
    model: &'a OnnxModel,
    consts: &'a Consts<'a>,
}

impl<'a> Net<'a> {
    pub fn new(model: &'a OnnxModel, consts: &'a Consts<'a>) -> Self {
        Net { model, consts }
    }

    /// A constant tensor by name.
    pub fn constant(&self, name: &str) -> Option<ConstRef<'a>> {
        match self.consts {
            Consts::Borrowed(map) => map.get(name).map(ConstRef::Borrowed),
            Consts::Owned(map) => map
                .borrow()
                .get(name)
                .map(|e| ConstRef::Shared(e.data.clone())),
        }
    }

    /// The graph structure, for references that outlive this handle.
    pub fn model(&self) -> &'a OnnxModel {
        self.model
    }

    /// Constant `name` as `f32`, read by `node`. When `node` is its last reader (and reads it
    /// once) an owned store hands the array over instead of copying it.
    pub fn take_f32(&self, node: &Node, name: &str) -> Option<ArrayD<f32>> {
        if let Consts::Owned(map) = self.consts {
            let once = node.inputs.iter().filter(|i| *i == name).count() == 1;
            let mut map = map.borrow_mut();
            if once && map.get(name).is_some_and(|e| e.readers == 1) {
                let data = map.remove(name)?.data;
                return Some(match Rc::try_unwrap(data) {
                    Ok(TensorData::F32(a)) => a,
                    Ok(other) => other.to_f32(),
                    Err(shared) => shared.to_f32(),
                });
            }
        }
        self.constant(name).map(|t| t.to_f32())
    }
}

impl Deref for Net<'_> {
    type Target = OnnxModel;

    fn deref(&self) -> &OnnxModel {
        self.model
    }
}

/// Tells the store which nodes are converted, each once.
pub(crate) struct Releaser {
    counted: Vec<bool>,
}

impl Releaser {
    pub fn new(net: Net<'_>) -> Self {
        Releaser {
            counted: vec![false; net.nodes.len()],
        }
    }

    /// Drops the constants whose last readers are among the nodes newly marked `done`.
    pub fn update(&mut self, net: Net<'_>, done: &[bool]) {
        for (j, node) in net.nodes.iter().enumerate() {
            if done[j] && !self.counted[j] {
                self.counted[j] = true;
                net.consts.read_by(node);
            }
        }
    }
}

/// A node's input names, each once.
fn distinct_inputs(node: &Node) -> Vec<&str> {
    let mut names: Vec<&str> = node
        .inputs
        .iter()
        .map(String::as_str)
        .filter(|i| !i.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{ramp_f32, ModelBuilder};

    /// y = Gemm(x, w, b) + b: `w` has one reader, `b` two.
    fn model() -> OnnxModel {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[1, 3])
            .initializer("w", &ramp_f32(&[3, 4]))
            .initializer("b", &ramp_f32(&[4]))
            .node("Gemm", "fc", &["x", "w", "b"], &["h"], &[])
            .node("Add", "add", &["h", "b"], &["y"], &[])
            .output("y", &[1, 4]);
        crate::load_bytes(b.encode().into(), "t", None, &Default::default()).expect("loads")
    }

    fn held(consts: &Consts<'_>) -> Vec<String> {
        let Consts::Owned(map) = consts else {
            panic!("owned store expected")
        };
        let mut names: Vec<String> = map.borrow().keys().cloned().collect();
        names.sort();
        names
    }

    #[test]
    fn owned_constants_are_dropped_after_their_last_reader() {
        let mut m = model();
        let want_w = m.constants["w"].as_f32().expect("f32").clone();
        let consts = Consts::owned(std::mem::take(&mut m.constants), &m.nodes);
        let net = Net::new(&m, &consts);
        let fc = &m.nodes[0];
        // `fc` is the last reader of `w`: the array is handed over and leaves the store.
        assert_eq!(net.take_f32(fc, "w"), Some(want_w));
        assert_eq!(held(&consts), ["b"]);
        // `b` is still needed by `add` after `fc`, so reading it copies.
        assert!(net.take_f32(fc, "b").is_some());
        let mut releaser = Releaser::new(net);
        releaser.update(net, &[true, false]);
        assert_eq!(held(&consts), ["b"]);
        releaser.update(net, &[true, true]);
        assert!(held(&consts).is_empty());
        assert!(net.constant("b").is_none());
    }

    #[test]
    fn borrowed_constants_stay_with_the_model() {
        let m = model();
        let consts = Consts::Borrowed(&m.constants);
        let net = Net::new(&m, &consts);
        assert!(net.take_f32(&m.nodes[0], "w").is_some());
        let mut releaser = Releaser::new(net);
        releaser.update(net, &[true, true]);
        assert!(net.constant("w").is_some() && net.constant("b").is_some());
    }
}

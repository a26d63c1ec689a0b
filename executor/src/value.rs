//! What flows along the edges of a running plan: float tensors (`hl` graphs, and the f32
//! ends of `q` graphs) and integer codes (`q` graphs), with the ownership rules that let
//! kernels work in place.
//!
//! An operand whose last reader is the current op is handed over owned ([`Arg::Owned`]),
//! so element-wise kernels write into it and reshapes move its buffer; other operands are
//! borrowed from their slot or from the plan's constants. Convolution and dense outputs come
//! from a [`BufferPool`] fed by tensors freed after their last use.

use crate::kernels::KernelError;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// A tensor computed by a kernel or held as a constant.
#[derive(Debug, Clone)]
pub enum Value {
    F32(ArrayD<f32>),
    /// Integer codes of a quantized tensor (its scale and zero point are in its type).
    I32(ArrayD<i32>),
}

impl Value {
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::F32(a) => a.shape(),
            Value::I32(a) => a.shape(),
        }
    }
}

/// An operand: owned when this op is its last user, else borrowed.
pub enum Arg<'a> {
    Owned(Value),
    Borrowed(&'a Value),
}

fn wrong(op: &'static str, want: &str) -> KernelError {
    KernelError::new(op, format!("expects {want} operands"))
}

impl Arg<'_> {
    fn value(&self) -> &Value {
        match self {
            Arg::Owned(v) => v,
            Arg::Borrowed(v) => v,
        }
    }

    pub fn shape(&self) -> &[usize] {
        self.value().shape()
    }

    /// The float tensor; `op` names the kernel in the error when it is integer.
    pub fn f32(&self, op: &'static str) -> Result<ArrayViewD<'_, f32>, KernelError> {
        match self.value() {
            Value::F32(a) => Ok(a.view()),
            Value::I32(_) => Err(wrong(op, "float")),
        }
    }

    /// The integer codes; `op` names the kernel in the error when they are float.
    pub fn i32(&self, op: &'static str) -> Result<ArrayViewD<'_, i32>, KernelError> {
        match self.value() {
            Value::I32(a) => Ok(a.view()),
            Value::F32(_) => Err(wrong(op, "integer")),
        }
    }

    /// The float tensor itself, copied only when borrowed; always in standard layout.
    pub fn into_f32(self, op: &'static str) -> Result<ArrayD<f32>, KernelError> {
        match self {
            Arg::Owned(Value::F32(a)) if a.is_standard_layout() => Ok(a),
            Arg::Owned(Value::F32(a)) => Ok(a.as_standard_layout().into_owned()),
            Arg::Borrowed(Value::F32(a)) => Ok(a.as_standard_layout().into_owned()),
            _ => Err(wrong(op, "float")),
        }
    }

    /// The integer codes themselves, copied only when borrowed; always in standard layout.
    pub fn into_i32(self, op: &'static str) -> Result<ArrayD<i32>, KernelError> {
        match self {
            Arg::Owned(Value::I32(a)) if a.is_standard_layout() => Ok(a),
            Arg::Owned(Value::I32(a)) => Ok(a.as_standard_layout().into_owned()),
            Arg::Borrowed(Value::I32(a)) => Ok(a.as_standard_layout().into_owned()),
            _ => Err(wrong(op, "integer")),
        }
    }
}

/// Freed float buffers, handed out again for convolution and dense outputs.
#[derive(Default)]
pub struct BufferPool {
    free: Vec<Vec<f32>>,
    /// im2col scratch of the convolutions.
    pub im2col: Vec<f32>,
}

/// Buffers kept for reuse; more would raise peak memory without saving allocations.
const POOL_CAPACITY: usize = 1;

impl BufferPool {
    /// Returns a freed tensor's buffer to the pool (integer tensors are dropped).
    pub fn release(&mut self, v: Value) {
        let Value::F32(a) = v else { return };
        let (buf, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) != 0 || buf.capacity() == 0 {
            return;
        }
        self.free.push(buf);
        if self.free.len() > POOL_CAPACITY {
            // Keep the largest buffers: they serve every smaller request too.
            self.free.sort_by_key(|b| std::cmp::Reverse(b.capacity()));
            self.free.truncate(POOL_CAPACITY);
        }
    }

    /// A buffer of `len` elements (contents unspecified), reusing the smallest that fits.
    pub fn take(&mut self, len: usize) -> Vec<f32> {
        let best = (0..self.free.len())
            .filter(|&i| self.free[i].capacity() >= len)
            .min_by_key(|&i| self.free[i].capacity());
        let mut buf = best.map_or_else(|| Vec::with_capacity(len), |i| self.free.swap_remove(i));
        buf.clear();
        buf.resize(len, 0.0);
        buf
    }

    /// A zeroed tensor of `shape` on a pooled buffer.
    pub fn zeros(&mut self, shape: &[usize]) -> Result<ArrayD<f32>, KernelError> {
        let buf = self.take(shape.iter().product());
        ArrayD::from_shape_vec(IxDyn(shape), buf)
            .map_err(|e| KernelError::new("alloc", e.to_string()))
    }
}

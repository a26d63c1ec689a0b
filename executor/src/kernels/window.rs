//! Sliding-window geometry shared by convolution, deconvolution and pooling.

use super::error::{ensure, KernelError};

/// Explicit spatial padding in pixels (ONNX `pads` order is top, left, bottom, right).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Padding {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Padding {
    /// The same padding on all four sides.
    pub fn uniform(p: usize) -> Self {
        Padding {
            top: p,
            left: p,
            bottom: p,
            right: p,
        }
    }
}

/// One spatial axis of a sliding window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Axis1 {
    pub input: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_before: usize,
    pub pad_after: usize,
}

impl Axis1 {
    /// Number of window positions; `ceil_mode` rounds up like ONNX/PyTorch pooling but drops
    /// a last window that would start in the trailing padding.
    pub fn output(&self, op: &'static str, ceil_mode: bool) -> Result<usize, KernelError> {
        ensure!(self.kernel > 0, op, "kernel size must be positive");
        ensure!(self.stride > 0, op, "stride must be positive");
        ensure!(self.dilation > 0, op, "dilation must be positive");
        let span = self.dilation * (self.kernel - 1) + 1;
        let padded = self.input + self.pad_before + self.pad_after;
        ensure!(
            padded >= span,
            op,
            "window of {span} pixels (kernel {}, dilation {}) does not fit the padded input of {padded}",
            self.kernel,
            self.dilation
        );
        let room = padded - span;
        let mut out = if ceil_mode {
            room.div_ceil(self.stride) + 1
        } else {
            room / self.stride + 1
        };
        if ceil_mode && (out - 1) * self.stride >= self.input + self.pad_before {
            out -= 1;
        }
        Ok(out)
    }

    /// Input coordinate of tap `k` for output position `o`, if it falls inside the input.
    #[inline]
    pub fn source(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.stride + k * self.dilation)
            .checked_sub(self.pad_before)
            .filter(|&i| i < self.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(input: usize, kernel: usize, stride: usize, pads: (usize, usize)) -> Axis1 {
        Axis1 {
            input,
            kernel,
            stride,
            dilation: 1,
            pad_before: pads.0,
            pad_after: pads.1,
        }
    }

    #[test]
    fn output_sizes_match_onnx_formulas() {
        assert_eq!(axis(56, 3, 1, (1, 1)).output("t", false), Ok(56));
        assert_eq!(axis(224, 7, 2, (3, 3)).output("t", false), Ok(112));
        assert_eq!(axis(5, 2, 2, (0, 0)).output("t", false), Ok(2));
        assert_eq!(axis(5, 2, 2, (0, 0)).output("t", true), Ok(3));
        // The ceil window would start in the trailing padding: dropped.
        assert_eq!(axis(4, 2, 2, (0, 1)).output("t", true), Ok(2));
        assert!(axis(2, 5, 1, (0, 0)).output("t", false).is_err());
    }
}

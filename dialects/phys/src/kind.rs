//! The closed vocabularies of `phys` attributes: what a compute layer computes ([`LayerKind`]), how
//! a logical layer was split ([`DefuseKind`]) and which memory a portal goes through
//! ([`PortalMemory`]). Each is declared once here with the facts the verifier and the resource
//! model need, so neither matches strings of its own.

/// What a `phys.layer` computes. The names are the layer kinds of the vendor's allocation dumps
/// (`dumps.csv`, column `kind`), spelled as the `q` ops spell them where the two differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    Conv,
    Deconv,
    Dense,
    Depthwise,
    MatMul,
    MaxPool,
    AvgPool,
    EwAdd,
    EwSub,
    EwMult,
    EwMax,
    EwMin,
    /// Elementwise division (DFC guide §5.5.10, with multiplication).
    EwDiv,
    Activation,
    /// An activation with a per-channel slope on negative inputs (guide Table of activations).
    Prelu,
    Reduce,
    Resize,
    /// The index of the largest feature (guide §5.5.20; the dumps' `argmax`, 1 subcluster).
    ArgMax,
    /// A static crop in height, width and features (guide §5.5.28; the dumps' `slice`).
    Slice,
    /// Padding as its own layer (guide §5.5.30 "External Padding"; the dumps' `pad`).
    Pad,
    /// One-hot: a convolution with a delta activation along the last axis (guide's ONNX table).
    OneHot,
    Normalization,
    /// Layer or instance normalization: the guide's "block of several Hailo layers"
    /// (`layer_norm_decomposition`), kept as one layer here until a pass decomposes it.
    LayerNorm,
    PrecisionChange,
    /// Softmax over the last axis: off the core (0 subclusters) in all four dumps with a
    /// softmax layer (the classifiers' `softmax1`; transformers decompose theirs, resources
    /// doc §2 and §4).
    Softmax,
    /// Log-softmax over the last axis: "implemented by breaking the softmax layer to other
    /// layers" (guide §5.5.19), that is on the core, kept as one layer here.
    LogSoftmax,
}

/// Name, feature-map inputs (min, max), weighted, MAC-driven.
struct KindInfo(LayerKind, &'static str, (usize, usize), bool, bool);

/// Kinds that run off the neural core (0 subclusters, no layer controller) unless a script
/// places them on it.
const OFF_CORE: &[LayerKind] = &[LayerKind::Softmax];

const KINDS: &[KindInfo] = &[
    // A conv's optional second input is an elementwise add fused into it (resources doc §4).
    KindInfo(LayerKind::Conv, "conv", (1, 2), true, true),
    KindInfo(LayerKind::Deconv, "deconv", (1, 1), true, true),
    KindInfo(LayerKind::Dense, "dense", (1, 2), true, true),
    KindInfo(LayerKind::Depthwise, "depthwise", (1, 1), true, true),
    KindInfo(LayerKind::MatMul, "matmul", (2, 2), false, true),
    KindInfo(LayerKind::MaxPool, "maxpool", (1, 1), false, false),
    KindInfo(LayerKind::AvgPool, "avgpool", (1, 1), false, false),
    KindInfo(LayerKind::EwAdd, "ew_add", (2, 2), false, false),
    KindInfo(LayerKind::EwSub, "ew_sub", (2, 2), false, false),
    KindInfo(LayerKind::EwMult, "ew_mult", (2, 2), false, false),
    KindInfo(LayerKind::EwMax, "ew_max", (2, 2), false, false),
    KindInfo(LayerKind::EwMin, "ew_min", (2, 2), false, false),
    KindInfo(LayerKind::EwDiv, "ew_div", (2, 2), false, false),
    KindInfo(LayerKind::Activation, "activation", (1, 1), false, false),
    KindInfo(LayerKind::Prelu, "prelu", (1, 1), false, false),
    KindInfo(LayerKind::Reduce, "reduce", (1, 1), false, false),
    KindInfo(LayerKind::Resize, "resize", (1, 1), false, false),
    KindInfo(LayerKind::ArgMax, "argmax", (1, 1), false, false),
    KindInfo(LayerKind::Slice, "slice", (1, 1), false, false),
    KindInfo(LayerKind::Pad, "pad", (1, 1), false, false),
    KindInfo(LayerKind::OneHot, "one_hot", (1, 1), false, false),
    KindInfo(
        LayerKind::Normalization,
        "normalization",
        (1, 1),
        false,
        false,
    ),
    // Its gamma and beta are its kernel and bias operands.
    KindInfo(LayerKind::LayerNorm, "layer_norm", (1, 1), true, false),
    KindInfo(
        LayerKind::PrecisionChange,
        "precision_change",
        (1, 1),
        false,
        false,
    ),
    KindInfo(LayerKind::Softmax, "softmax", (1, 1), false, false),
    KindInfo(LayerKind::LogSoftmax, "log_softmax", (1, 1), false, false),
];

impl LayerKind {
    fn info(self) -> &'static KindInfo {
        KINDS
            .iter()
            .find(|k| k.0 == self)
            .expect("every kind is in KINDS")
    }

    pub fn parse(s: &str) -> Option<LayerKind> {
        KINDS.iter().find(|k| k.1 == s).map(|k| k.0)
    }

    pub fn name(self) -> &'static str {
        self.info().1
    }

    pub fn names() -> String {
        KINDS.iter().map(|k| k.1).collect::<Vec<_>>().join(", ")
    }

    /// How many feature-map operands the layer takes.
    pub fn inputs(self) -> (usize, usize) {
        self.info().2
    }

    /// Takes a kernel (and optional bias) operand after its inputs.
    pub fn weighted(self) -> bool {
        self.info().3
    }

    /// Its rate is set by its multiply-accumulates (resources doc §4: conv, dense, matmul, deconv,
    /// and depthwise as far as the MAC bound goes; the helpers are not MAC-driven).
    pub fn mac_driven(self) -> bool {
        self.info().4
    }

    /// The subclusters the layer takes before any allocation: 0 for the kinds the vendor runs
    /// off the core ([`OFF_CORE`]), else 1 (resources doc §4: "1 LCU, 1 SC, 1 APU, 1 IA each").
    pub fn default_subclusters(self) -> u32 {
        u32::from(!OFF_CORE.contains(&self))
    }

    /// Whether 16x4 mode supports this kernel, stride and dilation (`[h, w]` each): the DFC
    /// guide's Table 7 ("16x4 mode support"); kinds it does not list are not supported.
    pub fn supports_16x4(self, kernel: [i64; 2], strides: [i64; 2], dilations: [i64; 2]) -> bool {
        let one = [1, 1];
        match (self, kernel) {
            (LayerKind::Conv, [1, 1]) => strides == one && dilations == one,
            (LayerKind::Conv, [3, 3]) => match strides {
                [1, 1] => dilations[0] == dilations[1] && (1..=4).contains(&dilations[0]),
                [2, 1] => dilations == one,
                _ => false,
            },
            (LayerKind::Conv, [5, 5]) => (strides == one || strides == [2, 1]) && dilations == one,
            (LayerKind::Conv, [7, 7]) => {
                strides.iter().all(|s| (1..=2).contains(s)) && dilations == one
            }
            (LayerKind::Conv, [h, w]) => {
                let listed = matches!(
                    (h, w),
                    (1, 3 | 5 | 7)
                        | (3, 5 | 7)
                        | (5, 3 | 7)
                        | (7, 3 | 5)
                        | (3 | 5 | 7 | 9, 4 | 6 | 8)
                        | (9, 9)
                );
                listed && strides == one && dilations == one
            }
            (LayerKind::Depthwise, [3, 3]) => {
                strides == one && (dilations == one || dilations == [2, 2])
            }
            (LayerKind::Depthwise, [5, 5]) => strides == one && dilations == one,
            _ => false,
        }
    }
}

/// How a logical layer was split into physical parts (`defuse(..., defuse_type=...)`; resources
/// doc §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefuseKind {
    /// Each part computes some output features (the default `defuse`).
    Features,
    /// Each part computes some rows or columns.
    Spatial,
    /// Each part reads some input features (pooling and depthwise).
    InputFeatures,
    /// Parts share the computation lanes of one pooling layer.
    ComputeLanes,
}

const DEFUSE_KINDS: [(DefuseKind, &str); 4] = [
    (DefuseKind::Features, "features"),
    (DefuseKind::Spatial, "spatial"),
    (DefuseKind::InputFeatures, "input_features"),
    (DefuseKind::ComputeLanes, "compute_lanes"),
];

impl DefuseKind {
    pub fn parse(s: &str) -> Option<DefuseKind> {
        DEFUSE_KINDS.iter().find(|k| k.1 == s).map(|k| k.0)
    }

    pub fn names() -> String {
        DEFUSE_KINDS.map(|k| k.1).join(", ")
    }
}

/// The memory a portal carries its feature map through (resources doc §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalMemory {
    /// Cluster memory.
    L3,
    /// Device memory (`l4_portal`).
    L4,
    /// Host memory over PCIe (`ddr`).
    Ddr,
}

impl PortalMemory {
    /// The `memory` attribute's spelling.
    pub fn name(self) -> &'static str {
        match self {
            PortalMemory::L3 => "l3",
            PortalMemory::L4 => "l4",
            PortalMemory::Ddr => "ddr",
        }
    }

    pub fn parse(s: &str) -> Option<PortalMemory> {
        match s {
            "l3" => Some(PortalMemory::L3),
            "l4" => Some(PortalMemory::L4),
            "ddr" => Some(PortalMemory::Ddr),
            _ => None,
        }
    }
}

//! The explicit pass registry: one line per pass, kept sorted by name.

use crate::{conversion, generic, hl, phys, quant, test};
use hailo_ir::pass::{PassInfo, PassRegistry};

pub fn registry() -> PassRegistry {
    PassRegistry::new(
        vec![
            PassInfo::of::<generic::canonicalize::Canonicalize>(),
            PassInfo::of::<generic::cse::Cse>(),
            PassInfo::of::<generic::dce::Dce>(),
            PassInfo::of::<hl::change_output_activation::ChangeOutputActivation>(),
            PassInfo::of::<hl::dead_channels_removal::DeadChannelsRemoval>(),
            PassInfo::of::<hl::dead_layers_removal::DeadLayersRemoval>(),
            PassInfo::of::<hl::fold_batchnorm::FoldBatchnorm>(),
            PassInfo::of::<hl::fold_bias::FoldBias>(),
            PassInfo::of::<hl::fold_pad::FoldPad>(),
            PassInfo::of::<hl::fuse_activation::FuseActivation>(),
            PassInfo::of::<hl::fuse_conv_add::FuseConvAdd>(),
            PassInfo::of::<hl::global_avgpool_reduction::GlobalAvgpoolReduction>(),
            PassInfo::of::<conversion::hl_to_quant::HlToQuant>(),
            PassInfo::of::<hl::input_conversion::InputConversion>(),
            PassInfo::of::<hl::logits_layer::LogitsLayer>(),
            PassInfo::of::<hl::name_layers::NameLayers>(),
            PassInfo::of::<hl::nms_postprocess::NmsPostprocess>(),
            PassInfo::of::<hl::normalization::Normalization>(),
            PassInfo::of::<hl::resize::Resize>(),
            PassInfo::of::<hl::se_optimization::SeOptimization>(),
            PassInfo::of::<hl::set_seed::SetSeed>(),
            PassInfo::of::<hl::transpose::Transpose>(),
            PassInfo::of::<phys::assign::PhysAssign>(),
            PassInfo::of::<phys::buffers::PhysBuffers>(),
            PassInfo::of::<phys::defuse::PhysDefuse>(),
            PassInfo::of::<phys::merge::PhysMerge>(),
            PassInfo::of::<phys::output_mux::PhysOutputMux>(),
            PassInfo::of::<phys::remove_nodes::PhysRemoveNodes>(),
            PassInfo::of::<phys::shortcuts::PhysShortcuts>(),
            PassInfo::of::<phys::split_concats::PhysSplitConcats>(),
            PassInfo::of::<phys::sub_splitters::PhysSubSplitters>(),
            PassInfo::of::<phys::verify::PhysVerify>(),
            PassInfo::of::<generic::print_op_stats::PrintOpStats>(),
            PassInfo::of::<quant::activation_clipping::ActivationClipping>(),
            PassInfo::of::<quant::bias_correction::BiasCorrection>(),
            PassInfo::of::<quant::calibrate::Calibrate>(),
            PassInfo::of::<quant::equalize::Equalize>(),
            PassInfo::of::<quant::assign_precision::AssignPrecision>(),
            PassInfo::of::<quant::matmul_equalize::MatmulEqualize>(),
            PassInfo::of::<quant::noise_analysis::NoiseAnalysis>(),
            PassInfo::of::<quant::ranges::Ranges>(),
            PassInfo::of::<quant::split_activations::SplitActivations>(),
            PassInfo::of::<conversion::quant_to_phys::QuantToPhys>(),
            PassInfo::of::<quant::weight_clipping::WeightClippingPass>(),
            PassInfo::of::<quant::zero_static_channels::ZeroStaticChannels>(),
            PassInfo::of::<test::analysis::TestAnalysis>(),
            PassInfo::of::<test::calibration_activations::TestCalibrationActivations>(),
            PassInfo::of::<test::fail::TestFail>(),
            PassInfo::of::<test::graph_attr::TestGraphAttr>(),
            PassInfo::of::<test::options::TestOptionsPass>(),
        ],
        crate::pipelines::pipelines(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_kebab_case() {
        let r = registry();
        let names: Vec<&str> = r.passes().iter().map(|p| p.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "registry must be sorted and unique");
        for n in names {
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{n}"
            );
        }
    }

    #[test]
    fn every_pass_has_a_lit_test() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lit-tests");
        let mut corpus = String::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("lit-tests directory exists")
                .flatten()
            {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "hir") {
                    corpus.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        for p in registry().passes() {
            let used = corpus.contains(&format!("({}", p.name))
                || corpus.contains(&format!(",{}", p.name))
                || corpus.contains(&format!("{}{{", p.name));
            assert!(
                used,
                "pass '{}' has no lit test using it in a --pass-pipeline",
                p.name
            );
        }
    }
}

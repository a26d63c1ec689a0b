//! Times `conv2d` on resnet18-like layer shapes and reports GFLOP/s, on one thread and on
//! two (rayon pool). Run with `cargo bench -p hailo-executor --bench conv`.

use hailo_executor::kernels::conv::{conv2d_into, Conv2dParams};
use hailo_executor::kernels::Padding;
use ndarray::Array4;
use std::time::Instant;

struct Layer {
    name: &'static str,
    input: [usize; 4],
    kernel: [usize; 4],
    stride: usize,
    pad: usize,
    groups: usize,
}

const LAYERS: &[Layer] = &[
    Layer {
        name: "conv1 7x7/2 3->64 @224",
        input: [1, 224, 224, 3],
        kernel: [7, 7, 3, 64],
        stride: 2,
        pad: 3,
        groups: 1,
    },
    Layer {
        name: "layer1 3x3 64->64 @56",
        input: [1, 56, 56, 64],
        kernel: [3, 3, 64, 64],
        stride: 1,
        pad: 1,
        groups: 1,
    },
    Layer {
        name: "layer2 3x3 128->128 @28",
        input: [1, 28, 28, 128],
        kernel: [3, 3, 128, 128],
        stride: 1,
        pad: 1,
        groups: 1,
    },
    Layer {
        name: "layer3 3x3 256->256 @14",
        input: [1, 14, 14, 256],
        kernel: [3, 3, 256, 256],
        stride: 1,
        pad: 1,
        groups: 1,
    },
    Layer {
        name: "layer4 3x3 512->512 @7",
        input: [1, 7, 7, 512],
        kernel: [3, 3, 512, 512],
        stride: 1,
        pad: 1,
        groups: 1,
    },
    Layer {
        name: "1x1 128->256 /2 @28",
        input: [1, 28, 28, 128],
        kernel: [1, 1, 128, 256],
        stride: 2,
        pad: 0,
        groups: 1,
    },
    Layer {
        name: "batch8 3x3 64->64 @56",
        input: [8, 56, 56, 64],
        kernel: [3, 3, 64, 64],
        stride: 1,
        pad: 1,
        groups: 1,
    },
    Layer {
        name: "mbv2 dw 3x3 144 @56",
        input: [1, 56, 56, 144],
        kernel: [3, 3, 1, 144],
        stride: 1,
        pad: 1,
        groups: 144,
    },
    Layer {
        name: "mbv2 1x1 144->24 @56",
        input: [1, 56, 56, 144],
        kernel: [1, 1, 144, 24],
        stride: 1,
        pad: 0,
        groups: 1,
    },
];

fn filled(shape: [usize; 4], seed: u32) -> Array4<f32> {
    let mut state = seed;
    Array4::from_shape_simple_fn(shape, || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    })
}

fn run(layer: &Layer) -> Result<f64, hailo_executor::kernels::KernelError> {
    let x = filled(layer.input, 1);
    let w = filled(layer.kernel, 2);
    let bias = vec![0.1f32; layer.kernel[3]];
    let p = Conv2dParams {
        stride: [layer.stride; 2],
        pads: Padding::uniform(layer.pad),
        groups: layer.groups,
        ..Default::default()
    };
    let shape = hailo_executor::kernels::conv::conv2d_output_shape(layer.input, layer.kernel, &p)?;
    let mut out = Array4::zeros(shape);
    let mut scratch = Vec::new();
    let flops = 2.0
        * (shape.iter().product::<usize>() * layer.kernel[0] * layer.kernel[1] * layer.kernel[2])
            as f64;
    conv2d_into(
        x.view(),
        w.view(),
        Some(&bias),
        &p,
        out.view_mut(),
        &mut scratch,
    )?;
    let reps = ((3e9 / flops) as usize).clamp(3, 2000);
    let start = Instant::now();
    for _ in 0..reps {
        conv2d_into(
            x.view(),
            w.view(),
            Some(&bias),
            &p,
            out.view_mut(),
            &mut scratch,
        )?;
    }
    Ok(flops * reps as f64 / start.elapsed().as_secs_f64() / 1e9)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("{:<28} {:>12} {:>12}", "layer", "1 thread", "2 threads");
    for layer in LAYERS {
        let mut rates = Vec::new();
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            rates.push(pool.install(|| run(layer))?);
        }
        println!(
            "{:<28} {:>7.1} GF/s {:>7.1} GF/s",
            layer.name, rates[0], rates[1]
        );
    }
    Ok(())
}

//! Run-time choice of the vector extension for kernels written once, as plain Rust that the
//! compiler vectorizes: [`widest!`] compiles an `#[inline(always)]` function again inside
//! one wrapper per extension (AVX-512, AVX2) and calls the widest one the CPU has. One
//! source for every width, so the variants cannot drift apart.

/// `widest!(fn name(a: A, ..) -> R = generic);` defines `fn name` that runs `generic` (which
/// must be `#[inline(always)]`, so that each wrapper gets its own copy) compiled with
/// AVX-512 (F, BW, DQ, VL) when the CPU has it, else with AVX2 and FMA, else as is.
macro_rules! widest {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $generic:path;) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512dq")
                    && std::is_x86_feature_detected!("avx512vl")
                {
                    // SAFETY: `avx512` needs only the features just detected.
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: `avx2` needs only the features just detected.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
    };
}

pub(crate) use widest;

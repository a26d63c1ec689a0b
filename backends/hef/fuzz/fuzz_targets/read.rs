//! Fuzz the reader: any byte string must give a value or an error, never a panic, through
//! container parsing, protobuf decoding, CCW linking, the info report and every check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hailo_hef::check_bytes(data);
    if let Ok(hef) = hailo_hef::Hef::from_bytes_unverified(data) {
        let _ = hef.ccw_section();
        let _ = hailo_hef::HefInfo::new(&hef).to_text();
        let _ = hef.to_bytes();
    }
});

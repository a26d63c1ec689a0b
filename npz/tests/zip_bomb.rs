//! A compressed `.npz` member stops decompressing at what the element budget allows (a zip
//! bomb used to be read to the end). Its own test binary: it lowers the process-wide budget.

use std::io::Write;

#[test]
fn a_member_decompressing_past_the_budget_is_refused() {
    hailo_guard::limits::set_max_elements(1000);
    let dir = std::env::temp_dir().join(format!("npz-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bomb.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("x.npy", options).unwrap();
    zip.write_all(&vec![0u8; 4 << 20]).unwrap();
    zip.finish().unwrap();
    let err = hailo_npz::read_npz(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: invalid or unsupported zip archive: member 'x.npy': decompresses to more than \
             1056576 bytes, more than an array within the element budget (1000 elements) can \
             take; raise HAILO_MAX_TENSOR_ELEMENTS if it is real",
            path.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

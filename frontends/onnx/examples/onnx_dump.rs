//! Prints the node/shape listing of an ONNX file (a debugging aid for frontend work).

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: onnx_dump MODEL.onnx");
        std::process::exit(2);
    };
    match hailo_onnx::load(&path) {
        Ok(model) => print!("{}", model.listing()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

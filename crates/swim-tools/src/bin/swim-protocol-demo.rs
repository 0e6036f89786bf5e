//! The swim-protocol-demo command.
fn main() {
    eprintln!("swim-protocol-demo: not built yet");
    std::process::exit(1);
}

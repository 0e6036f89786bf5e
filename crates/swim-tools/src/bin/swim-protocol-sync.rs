//! The swim-protocol-sync command.
fn main() {
    eprintln!("swim-protocol-sync: not built yet");
    std::process::exit(1);
}

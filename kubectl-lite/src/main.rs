//! The `kubectl-lite` binary: everything is in the library's [`kubectl_lite::run`].

use std::io::Write;

fn main() {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut err = std::io::stderr();
    let code = kubectl_lite::run(std::env::args_os(), &mut out, &mut err);
    let _ = out.flush();
    drop(out);
    std::process::exit(code);
}

//! # kubelab-demo: one small app for every lab
//!
//! Labs need programs to run in pods, and with no registry there is nothing to pull. So kubelab
//! ships one binary with several personalities, built into the `kubelab/demo` image:
//! `web` (who am I, health checks), `kv` (a key-value store that keeps its data on a volume and
//! wants a password), `worker` (prints, then exits or crashes on command) and `sleep`.
//! Every flag can also come from an environment variable, so a pod spec's `env` configures it.

#[path = "../demo/mod.rs"]
mod demo;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = demo::Cli::parse();
    // One thread is plenty for a demo, and keeps the process small in a crowded node.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kubelab-demo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(demo::run(cli)) {
        Ok(demo::Outcome::Exit(code)) => ExitCode::from(code),
        Ok(demo::Outcome::Crash) => {
            eprintln!("kubelab-demo: crashing on purpose (--crash)");
            std::process::abort()
        }
        Err(e) => {
            eprintln!("kubelab-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

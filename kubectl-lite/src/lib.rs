//! # kubectl-lite: kubelab's own kubectl
//!
//! A command-line client that speaks to the API server exactly as kubectl does: it learns the
//! kinds from discovery (`resolve`), asks the server for Tables and prints them (`output`),
//! applies manifests with the `last-applied-configuration` annotation and a three-way diff
//! (`commands/apply.rs`, `threeway.rs`), follows rollouts with kubectl's rules
//! (`commands/rollout/`), and prints kubectl's messages and errors (`error.rs`), so what a
//! student types here works against a real cluster too, and the other way round.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`cli`] | commands and flags (clap) |
//! | [`context`] | the kubeconfig, the client, the discovery cache, stdout/stderr |
//! | [`resolve`] | `po` → pods, `deploy` → deployments.apps, through discovery |
//! | [`manifest`] | `-f` files, directories and stdin; multi-document YAML and JSON |
//! | [`output`] | Tables, YAML, JSON, names, ages |
//! | [`threeway`] | the patch `apply` sends (or does not) |
//! | [`terminal`] | raw mode and window size for `exec -t` |
//! | [`commands`] | one file per command |
//!
//! [`run`] is the whole program: `main.rs` only hands it the arguments and the standard streams,
//! so tests and benches can run it in-process too.

pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod kubeconfig;
pub mod manifest;
pub mod output;
pub mod resolve;
pub mod terminal;
pub mod threeway;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

/// Runs one kubectl-lite command line (`args[0]` is the program name) and returns its exit
/// code: 0 on success, 1 after any error (printed to `err` as kubectl prints it).
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                let _ = write!(err, "{text}");
                1
            } else {
                let _ = write!(out, "{text}");
                0
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let mut ctx = context::Ctx::new(cli.global, out, err);
    let result = runtime.block_on(commands::dispatch(&mut ctx, cli.command));
    let code = match result {
        Ok(()) if !ctx.failed => ctx.exit_code.unwrap_or(0),
        Ok(()) => 1,
        Err(e) => {
            let _ = writeln!(ctx.err, "{e}");
            1
        }
    };
    let _ = ctx.out.flush();
    let _ = ctx.err.flush();
    code
}

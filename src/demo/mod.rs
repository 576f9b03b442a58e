//! # The demo app's command line and its shared plumbing
//!
//! Each subcommand is one module: [`web`], [`kv`], [`worker`], [`get`]. They share how they end: on
//! SIGTERM (what `docker stop` and a pod's deletion send) each exits at once with status 0, as a
//! well-behaved container should, so a pod's grace period is never spent waiting for it.

pub mod get;
pub mod kv;
pub mod net;
pub mod resolve;
pub mod shell;
pub mod show;
pub mod web;
pub mod worker;

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// `kubelab-demo`: the multi-purpose demo app of kubelab's labs.
#[derive(Debug, Parser)]
#[command(
    name = "kubelab-demo",
    version,
    about = "kubelab's demo app: web, kv, worker, sleep, get, resolve, sh"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The app's personalities.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// An HTTP server that tells which pod, node and IP answered, with a health check to break.
    Web(web::WebArgs),
    /// A tiny key-value store over HTTP, data kept as files, user and password required.
    Kv(kv::KvArgs),
    /// Prints a line per second; exits or crashes on command (for restart and back-off labs).
    Worker(worker::WorkerArgs),
    /// Does nothing until SIGTERM (or, with `--ignore-sigterm`, until killed).
    Sleep(SleepArgs),
    /// Fetches a URL and prints the body (what `curl` does in a lab, in an image without curl).
    Get(get::GetArgs),
    /// Resolves a name as a program in the pod would (`--srv`: its SRV records), like `dig`.
    Resolve(resolve::ResolveArgs),
    /// A very small shell (`sh -c 'echo hi; exit 3'`, or a prompt), for `kubectl exec` in an
    /// image that has no shell.
    Sh(shell::ShArgs),
    /// Prints chosen env variables and files (again when a file changes); `--write` first.
    Show(show::ShowArgs),
}

/// Flags of `kubelab-demo sleep`.
#[derive(Debug, clap::Args)]
pub struct SleepArgs {
    /// Ignore SIGTERM, as a badly behaved program does: only SIGKILL ends it, so a pod's
    /// deletion waits out its whole grace period (the `terminationGracePeriodSeconds` lab).
    #[arg(long, env = "IGNORE_SIGTERM")]
    pub ignore_sigterm: bool,
}

/// How the process should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit with this status.
    Exit(u8),
    /// Abort, as a crashing program does: death by a signal (SIGABRT, or SIGSEGV as a container's
    /// PID 1, for which the kernel ignores SIGABRT), which Docker reports as status 134 or 139.
    Crash,
}

/// Runs the chosen subcommand until it ends.
pub async fn run(cli: Cli) -> Result<Outcome, String> {
    match cli.command {
        Command::Web(args) => web::serve(args).await.map(|()| Outcome::Exit(0)),
        Command::Kv(args) => kv::serve(args).await.map(|()| Outcome::Exit(0)),
        Command::Worker(args) => Ok(worker::run(args, std::io::stdout()).await),
        Command::Get(args) => get::run(args).await.map(Outcome::Exit),
        Command::Resolve(args) => resolve::run(args).await.map(Outcome::Exit),
        Command::Sh(args) => Ok(Outcome::Exit(shell::run(args))),
        Command::Show(args) => show::run(args).await.map(|()| Outcome::Exit(0)),
        Command::Sleep(args) if args.ignore_sigterm => {
            println!("sleeping, ignoring SIGTERM: only SIGKILL ends this process");
            loop {
                terminated().await;
                println!("got SIGTERM, ignoring it");
            }
        }
        Command::Sleep(_) => {
            println!("sleeping until SIGTERM");
            terminated().await;
            Ok(Outcome::Exit(0))
        }
    }
}

/// Resolves when the process receives SIGTERM or SIGINT (Ctrl-C).
pub async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            eprintln!("cannot listen for SIGTERM ({e}); only Ctrl-C stops this process");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Binds `bind:port` and serves `app` until SIGTERM.
pub async fn serve_until_terminated(what: &str, bind: &str, port: u16, app: axum::Router) -> Result<(), String> {
    let addr: SocketAddr = format!("{bind}:{port}")
        .parse()
        .map_err(|e| format!("bad address {bind}:{port}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("{what} listening on {addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(terminated())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    println!("{what} stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from(["kubelab-demo", "sleep"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Sleep(SleepArgs { ignore_sigterm: false })
        ));
        let cli = Cli::try_parse_from(["kubelab-demo", "sleep", "--ignore-sigterm"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Sleep(SleepArgs { ignore_sigterm: true })
        ));
        let cli = Cli::try_parse_from(["kubelab-demo", "web", "--port", "9000"]).unwrap();
        match cli.command {
            Command::Web(args) => assert_eq!(args.port, 9000),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["kubelab-demo", "dance"]).is_err());
    }
}

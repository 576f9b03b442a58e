//! `exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]`: run a command in a container.
//!
//! The API server upgrades `pods/NAME/exec` to a WebSocket (`v5.channel.k8s.io`) and bridges it
//! to the node agent, which runs a Docker exec; `kubelab_client::exec` speaks that protocol. This
//! command wires it to the local terminal: standard input is pumped from a thread (so a blocking
//! read never stalls the runtime), output is written as it arrives, and with `-t` the terminal
//! is put in raw mode and its size sent now and at each SIGWINCH. As kubectl does, a command that
//! exits non-zero makes kubectl-lite say `command terminated with exit code N` and exit with N.

use bytes::Bytes;
use kubelab_client::exec::{self, ExecError, ExecOptions, ExecSession};
use tokio::sync::mpsc;

use super::logs::{default_container, target_pod};
use crate::cli::ExecArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::terminal::{self, RawMode};

pub async fn run(ctx: &mut Ctx<'_>, args: ExecArgs) -> Result<()> {
    if args.command.is_empty() {
        return Err(CliError::msg("you must specify at least one command for the container"));
    }
    let namespace = ctx.namespace()?;
    let pods = ctx.resolve("pods").await?;
    let pod = target_pod(ctx, &pods, &namespace, &args.target).await?;
    let pod_name = crate::output::object_name(&pod).to_string();
    let container = match args.container {
        Some(c) => c,
        None => default_container(ctx, &pod)?,
    };
    let tty = args.tty && terminal::stdin_is_terminal();
    if args.tty && !tty {
        writeln!(
            ctx.err,
            "Unable to use a TTY - input is not a terminal or the right kind of file"
        )?;
    }
    let options = ExecOptions::new(args.command)
        .container(container)
        .stdin(args.stdin)
        .tty(tty);
    let client = ctx.client()?;
    let mut session = exec::connect(&client, &namespace, &pod_name, &options)
        .await
        .map_err(refused)?;
    let raw = if tty { Some(RawMode::enable()?) } else { None };
    pump_stdin(&mut session);
    if tty {
        follow_window_size(&session);
    }
    let (mut stdout, mut stderr) = (session.stdout.take(), session.stderr.take());
    while stdout.is_some() || stderr.is_some() {
        tokio::select! {
            chunk = next(&mut stdout) => match chunk {
                Some(bytes) => { ctx.out.write_all(&bytes)?; ctx.out.flush()?; }
                None => stdout = None,
            },
            chunk = next(&mut stderr) => match chunk {
                Some(bytes) => { ctx.err.write_all(&bytes)?; ctx.err.flush()?; }
                None => stderr = None,
            },
        }
    }
    let code = session.wait().await.map_err(refused);
    drop(raw);
    let code = code?;
    if code != 0 {
        writeln!(ctx.err, "command terminated with exit code {code}")?;
        ctx.exit_code = Some(code);
    }
    Ok(())
}

/// The next chunk of an output stream; never ready once the stream is gone.
async fn next(stream: &mut Option<mpsc::Receiver<Bytes>>) -> Option<Bytes> {
    match stream {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Copies standard input to the session until it ends, then closes the remote stdin (`-i`).
fn pump_stdin(session: &mut ExecSession) {
    let Some(mut remote) = session.stdin.take() else {
        return;
    };
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut input = std::io::stdin().lock();
        let mut buffer = [0u8; 4096];
        loop {
            match input.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            if remote.write(&chunk).await.is_err() {
                return;
            }
        }
        let _ = remote.close().await;
    });
}

/// Sends the terminal's size now and whenever the window changes.
fn follow_window_size(session: &ExecSession) {
    let resizer = session.resizer();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut changes = signal(SignalKind::window_change()).ok();
        loop {
            if let Some((width, height)) = terminal::size() {
                if resizer.resize(width, height).await.is_err() {
                    return;
                }
            }
            let changed = match changes.as_mut() {
                Some(changes) => changes.recv().await.is_some(),
                None => false,
            };
            if !changed {
                return;
            }
        }
    });
}

/// kubectl's wording for a refused exec: the server's `Status` for a missing pod, `error: ...`
/// for the rest.
fn refused(error: ExecError) -> CliError {
    match error {
        ExecError::Refused { code: 404, message } => CliError::Server {
            reason: "NotFound".into(),
            doing: String::new(),
            message,
        },
        ExecError::Refused { message, .. } | ExecError::Remote(message) => CliError::msg(message),
        other => CliError::msg(other.to_string()),
    }
}

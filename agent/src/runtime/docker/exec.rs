//! # Running a command in a running container (exec probes, `kubectl exec`)
//!
//! An exec is a second process started inside a container's namespaces, next to its main
//! process: it sees the same filesystem, the same network (so the pod's `localhost`) and the same
//! environment. Docker runs it in three steps, which is also how the kubelet's exec probe works:
//! create the exec (the command and which streams to attach), start it attached (a multiplexed
//! stream of stdout and stderr that ends when the command does), then inspect it for the exit code.
//!
//! The whole exchange has a deadline: a probe whose command hangs must fail, not hang the agent.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::StreamExt;

use super::docker_err;
use crate::runtime::{ExecOutput, RuntimeError};

/// How often the exit code is asked for, once the output has ended but Docker has not yet
/// recorded the command's end.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// Runs `command` in container `id` and waits (at most `timeout`) for its output and exit code.
pub async fn run(docker: &Docker, id: &str, command: &[String], timeout: Duration) -> Result<ExecOutput, RuntimeError> {
    if command.is_empty() {
        return Err(RuntimeError::InvalidConfig("exec: the command is empty".to_string()));
    }
    let what = format!("exec in container {id}");
    match tokio::time::timeout(timeout, run_inner(docker, id, command, &what)).await {
        Ok(result) => result,
        Err(_) => Err(RuntimeError::Timeout(timeout)),
    }
}

async fn run_inner(docker: &Docker, id: &str, command: &[String], what: &str) -> Result<ExecOutput, RuntimeError> {
    let options = CreateExecOptions {
        cmd: Some(command.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec = docker.create_exec(id, options).await.map_err(|e| docker_err(e, what))?;
    let mut output = ExecOutput::default();
    match docker
        .start_exec(&exec.id, None::<StartExecOptions>)
        .await
        .map_err(|e| docker_err(e, what))?
    {
        StartExecResults::Attached { output: mut stream, .. } => {
            while let Some(chunk) = stream.next().await {
                match chunk.map_err(|e| docker_err(e, what))? {
                    LogOutput::StdErr { message } => output.stderr.extend_from_slice(&message),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        output.stdout.extend_from_slice(&message)
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
        }
        StartExecResults::Detached => {}
    }
    // The stream ends when the process closes its output, which can be a moment before Docker
    // records the exit code; the caller's deadline bounds this loop.
    loop {
        let inspected = docker.inspect_exec(&exec.id).await.map_err(|e| docker_err(e, what))?;
        if inspected.running != Some(true) {
            if let Some(code) = inspected.exit_code {
                output.exit_code = i32::try_from(code).unwrap_or(-1);
                return Ok(output);
            }
        }
        tokio::time::sleep(EXIT_POLL).await;
    }
}

//! # Running a command in a running container (exec probes, `kubectl exec`)
//!
//! An exec is a second process started inside a container's namespaces, next to its main
//! process: it sees the same filesystem, the same network (so the pod's `localhost`) and the same
//! environment. Docker runs it in three steps, which is also how the kubelet's exec probe works:
//! create the exec (the command and which streams to attach), start it attached (a multiplexed
//! stream of stdout and stderr that ends when the command does), then inspect it for the exit code.
//!
//! The whole exchange has a deadline: a probe whose command hangs must fail, not hang the agent.
//!
//! `kubectl exec` uses [`start_stream`] instead: the same exec, with stdin and a pseudo-terminal
//! attached when asked, handed back as streams for the agent's server to bridge to a WebSocket.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::StreamExt;

use super::docker_err;
use crate::runtime::{ExecChunk, ExecControl, ExecOutput, ExecStream, ExecStreamRequest, RuntimeError};

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

/// How long to wait for Docker to record an exec's exit code once its output has ended.
const EXIT_WAIT: Duration = Duration::from_secs(10);

/// Starts `request.command` in container `id` with its streams attached (`kubectl exec -i -t`):
/// the same create/start as [`run`], but with stdin and a terminal when asked, and no deadline:
/// an interactive session lasts as long as its user wants.
pub async fn start_stream(docker: &Docker, id: &str, request: &ExecStreamRequest) -> Result<ExecStream, RuntimeError> {
    if request.command.is_empty() {
        return Err(RuntimeError::InvalidConfig("exec: the command is empty".to_string()));
    }
    let what = format!("exec in container {id}");
    let options = CreateExecOptions {
        cmd: Some(request.command.clone()),
        attach_stdin: Some(request.stdin),
        attach_stdout: Some(request.stdout),
        attach_stderr: Some(request.stderr && !request.tty),
        tty: Some(request.tty),
        ..Default::default()
    };
    let exec = docker
        .create_exec(id, options)
        .await
        .map_err(|e| docker_err(e, &what))?;
    let start = StartExecOptions {
        detach: false,
        tty: request.tty,
        output_capacity: None,
    };
    let (output, input) = match docker
        .start_exec(&exec.id, Some(start))
        .await
        .map_err(|e| docker_err(e, &what))?
    {
        StartExecResults::Attached { output, input } => (output, input),
        StartExecResults::Detached => {
            return Err(RuntimeError::Runtime(format!("{what}: Docker started it detached")));
        }
    };
    let chunks = output.filter_map(move |chunk| {
        let what = what.clone();
        async move {
            match chunk {
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    Some(Ok(ExecChunk::Stdout(message)))
                }
                Ok(LogOutput::StdErr { message }) => Some(Ok(ExecChunk::Stderr(message))),
                Ok(LogOutput::StdIn { .. }) => None,
                Err(e) => Some(Err(docker_err(e, &what))),
            }
        }
    });
    Ok(ExecStream {
        stdin: request.stdin.then_some(input),
        output: Box::pin(chunks),
        control: Box::new(DockerExec {
            docker: docker.clone(),
            exec_id: exec.id,
        }),
    })
}

/// A running Docker exec, by its id.
struct DockerExec {
    docker: Docker,
    exec_id: String,
}

#[async_trait::async_trait]
impl ExecControl for DockerExec {
    async fn resize(&self, width: u16, height: u16) -> Result<(), RuntimeError> {
        let options = ResizeExecOptions { height, width };
        self.docker
            .resize_exec(&self.exec_id, options)
            .await
            .map_err(|e| docker_err(e, "resizing an exec's terminal"))
    }

    async fn exit_code(&self) -> Result<i32, RuntimeError> {
        let wait = async {
            loop {
                let inspected = self
                    .docker
                    .inspect_exec(&self.exec_id)
                    .await
                    .map_err(|e| docker_err(e, "reading an exec's exit code"))?;
                if inspected.running != Some(true) {
                    if let Some(code) = inspected.exit_code {
                        return Ok(i32::try_from(code).unwrap_or(-1));
                    }
                }
                tokio::time::sleep(EXIT_POLL).await;
            }
        };
        tokio::time::timeout(EXIT_WAIT, wait)
            .await
            .unwrap_or(Err(RuntimeError::Timeout(EXIT_WAIT)))
    }
}

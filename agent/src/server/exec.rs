//! # Streaming exec: `kubectl exec` (also `-i` and `-t`) on the node
//!
//! `GET /exec/{namespace}/{pod}/{container}?command=sh&command=-c&command=...&stdin=true&stdout=true&tty=true`
//! upgraded to a WebSocket with the `v5.channel.k8s.io` subprotocol (or v4). The API server
//! checked the pod and forwards the upgrade here untouched; this handler finds the container's
//! current instance, starts the command through the runtime (Docker: an exec with stdin and a
//! pseudo-terminal attached), and bridges the two:
//!
//! ```text
//! WebSocket frame [0, bytes]        ──▶ the command's stdin (a task of its own: a command that
//!                                       does not read must not stop its output from flowing)
//! WebSocket frame [255, 0] (v5)     ──▶ end of file on its stdin
//! WebSocket frame [4, {"Width":..}] ──▶ resize its terminal
//! its stdout / stderr               ──▶ frames [1, bytes] / [2, bytes]
//! its exit                          ──▶ frame [3, Status], then a normal WebSocket close
//! ```
//!
//! Problems found before the upgrade (no command, no such container, not running) are plain-text
//! HTTP errors, which the API server turns into a `Status`; problems after it (the command
//! cannot start) travel as a `Failure` on the error stream, which kubectl prints.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use kubelab_client::exec::protocol;
use tokio::io::AsyncWriteExt;

use super::lookup::{pick_instance, LookupError};
use super::{flag, parse_query, ServerError, ServerState};
use crate::runtime::{ContainerRuntime, ContainerState, ExecChunk, ExecStreamRequest};

/// The WebSocket close code of a session that ended as it should.
const NORMAL_CLOSURE: u16 = 1000;

/// Reads the request's command and streams. The kubelet also accepts the older names `input`,
/// `output` and `error`; so does this.
pub fn stream_request(query: &[(String, String)]) -> Result<ExecStreamRequest, ServerError> {
    let either = |a: &str, b: &str| -> Result<bool, ServerError> { Ok(flag(query, a)? || flag(query, b)?) };
    let request = ExecStreamRequest {
        command: query
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect(),
        stdin: either("stdin", "input")?,
        stdout: either("stdout", "output")?,
        stderr: either("stderr", "error")?,
        tty: flag(query, "tty")?,
    };
    if request.command.is_empty() {
        return Err(ServerError(
            StatusCode::BAD_REQUEST,
            "you must specify at least one command for the container".into(),
        ));
    }
    if !(request.stdin || request.stdout || request.stderr) {
        return Err(ServerError(
            StatusCode::BAD_REQUEST,
            "you must specify at least one of stdin, stdout, stderr".into(),
        ));
    }
    Ok(request)
}

/// `GET /exec/{namespace}/{pod}/{container}` with a WebSocket upgrade.
pub async fn stream(
    State(state): State<ServerState>,
    Path((namespace, pod, container)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ServerError> {
    let query = parse_query(raw.as_deref());
    let request = stream_request(&query)?;
    let upgrade = upgrade.map_err(|e| {
        ServerError(
            StatusCode::BAD_REQUEST,
            format!("Upgrade request required: exec streams over a WebSocket ({e})"),
        )
    })?;
    let upgrade = upgrade.protocols(protocol::PROTOCOLS);
    let v5 = match upgrade.selected_protocol().and_then(|p| p.to_str().ok()) {
        Some(protocol::V5) => true,
        Some(_) => false,
        None => {
            return Err(ServerError(
                StatusCode::BAD_REQUEST,
                format!(
                    "exec needs one of the WebSocket subprotocols {} (Sec-WebSocket-Protocol)",
                    protocol::PROTOCOLS.join(", ")
                ),
            ))
        }
    };
    let (_, containers) = state.runtime.list_pod(&namespace, &pod).await?;
    let not_found = || format!("container not found ({container:?})");
    let instance = match pick_instance(&containers, &namespace, &pod, &container, false) {
        Ok(instance) => instance,
        Err(LookupError::NotAvailable { .. }) => return Err(ServerError(StatusCode::NOT_FOUND, not_found())),
        Err(e) => return Err(e.into()),
    };
    if !matches!(instance.state, ContainerState::Running { .. }) {
        return Err(ServerError(StatusCode::BAD_REQUEST, not_found()));
    }
    let id = instance.id.clone();
    let runtime = state.runtime.clone();
    Ok(upgrade.on_upgrade(move |socket| bridge(socket, runtime, id, request, v5)))
}

/// Runs the command and moves bytes between it and the socket until it exits or the client goes.
async fn bridge(
    socket: WebSocket,
    runtime: Arc<dyn ContainerRuntime>,
    id: String,
    request: ExecStreamRequest,
    v5: bool,
) {
    let (mut sink, mut incoming) = socket.split();
    let session = match runtime.exec_stream(&id, &request).await {
        Ok(session) => session,
        Err(e) => {
            let status = protocol::failure_status(e.to_string());
            let _ = sink
                .send(Message::Binary(protocol::encode_status(&status).into()))
                .await;
            let _ = sink.send(close()).await;
            return;
        }
    };
    let (mut output, control) = (session.output, session.control);
    // stdin is written by its own task, fed through a channel; `None` means end of file.
    let stdin = session.stdin.map(|mut writer| {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Vec<u8>>>(16);
        tokio::spawn(async move {
            while let Some(Some(data)) = rx.recv().await {
                if writer.write_all(&data).await.is_err() || writer.flush().await.is_err() {
                    return;
                }
            }
            let _ = writer.shutdown().await;
        });
        tx
    });
    let mut stdin = stdin;
    loop {
        tokio::select! {
            chunk = output.next() => {
                let message = match chunk {
                    Some(Ok(ExecChunk::Stdout(data))) => protocol::encode(protocol::STDOUT, &data),
                    Some(Ok(ExecChunk::Stderr(data))) => protocol::encode(protocol::STDERR, &data),
                    Some(Err(e)) => protocol::encode_status(&protocol::failure_status(e.to_string())),
                    None => {
                        let status = match control.exit_code().await {
                            Ok(code) => protocol::exit_status(code),
                            Err(e) => protocol::failure_status(format!("reading the exit code: {e}")),
                        };
                        protocol::encode_status(&status)
                    }
                };
                let last = message[0] == protocol::ERROR;
                if sink.send(Message::Binary(message.into())).await.is_err() || last {
                    break;
                }
            }
            message = incoming.next() => match message {
                // The client hung up: nothing will read the output any more.
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Binary(data))) => match protocol::decode(&data, v5) {
                    Ok(protocol::Frame::Data { channel: protocol::STDIN, data }) => {
                        if let Some(tx) = &stdin {
                            if tx.send(Some(data.to_vec())).await.is_err() {
                                stdin = None;
                            }
                        }
                    }
                    Ok(protocol::Frame::Data { channel: protocol::RESIZE, data }) => match protocol::decode_resize(data) {
                        Ok(size) => {
                            if let Err(e) = control.resize(size.width, size.height).await {
                                tracing::debug!(error = %e, "resizing an exec's terminal failed");
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "a bad resize message"),
                    },
                    Ok(protocol::Frame::Close { channel: protocol::STDIN }) => {
                        if let Some(tx) = stdin.take() {
                            let _ = tx.send(None).await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "a bad exec message"),
                },
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink.send(close()).await;
}

fn close() -> Message {
    Message::Close(Some(CloseFrame {
        code: NORMAL_CLOSURE,
        reason: "".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn streams_and_command_come_from_the_query() {
        let request = stream_request(&query(&[
            ("command", "sh"),
            ("command", "-c"),
            ("command", "echo hi"),
            ("stdin", "true"),
            ("output", "1"),
            ("tty", "True"),
        ]))
        .unwrap();
        assert_eq!(
            request,
            ExecStreamRequest {
                command: vec!["sh".into(), "-c".into(), "echo hi".into()],
                stdin: true,
                stdout: true,
                stderr: false,
                tty: true,
            }
        );
        let no_command = stream_request(&query(&[("stdout", "true")])).unwrap_err();
        assert_eq!(no_command.0, StatusCode::BAD_REQUEST);
        let no_stream = stream_request(&query(&[("command", "ls")])).unwrap_err();
        assert!(no_stream.1.contains("stdin, stdout, stderr"), "{}", no_stream.1);
        assert!(stream_request(&query(&[("command", "ls"), ("stdout", "maybe")])).is_err());
    }
}

//! # `pods/{name}/exec`: run a command in a container, its streams wired to ours
//!
//! The client side of `kubectl exec`. [`connect`] opens a WebSocket to
//! `/api/v1/namespaces/{ns}/pods/{name}/exec?command=..&container=..&stdin=..&stdout=..&stderr=..&tty=..`
//! asking for the `v5.channel.k8s.io` subprotocol (see [`protocol`] for the frames); the API
//! server checks the pod and proxies the connection to the agent of the pod's node, which runs
//! the command with Docker. What comes back is an [`ExecSession`]:
//!
//! ```no_run
//! # async fn demo(client: &kubelab_client::Client) -> Result<(), kubelab_client::exec::ExecError> {
//! use kubelab_client::exec::{connect, ExecOptions};
//! let options = ExecOptions::new(["sh", "-c", "cat; exit 3"]).stdin(true).container("app");
//! let mut session = connect(client, "default", "web", &options).await?;
//! let mut stdin = session.stdin.take().expect("asked for stdin");
//! stdin.write(b"hello\n").await?;
//! stdin.close().await?; // the command sees end of file
//! let mut stdout = session.stdout.take().expect("asked for stdout");
//! while let Some(chunk) = stdout.recv().await {
//!     print!("{}", String::from_utf8_lossy(&chunk));
//! }
//! let code = session.wait().await?; // 3
//! # let _ = code; Ok(()) }
//! ```
//!
//! One background task owns the socket: it reads frames into the stdout and stderr channels
//! (read them, or drop them: a full channel holds the reading back, as a pipe would) and keeps
//! the error stream's `Status`, which [`ExecSession::wait`] turns into the exit code. Writes
//! (stdin, resizes, the close signal) go to that task through a channel, so the handles are
//! cheap and `Send`.

pub mod protocol;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::client::Client;
use protocol::{Outcome, TerminalSize};

/// How many output chunks may wait in a channel before reading the socket pauses.
const OUTPUT_BUFFER: usize = 64;

/// Why an exec failed (before, during or after the command ran).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The request is wrong before anything is sent (no command, a server URL that is not http).
    #[error("invalid exec request: {0}")]
    Invalid(String),
    /// The server refused the upgrade: the pod or container does not exist, is not running...
    /// The message is the server's `Status` message when it sent one.
    #[error("{message} ({code})")]
    Refused { code: u16, message: String },
    /// The connection failed or broke.
    #[error("exec connection to {url} failed: {message}")]
    Connection { url: String, message: String },
    /// The server broke the channel protocol.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    /// The command could not run (the error stream's `Status` message, as kubectl prints it).
    #[error("{0}")]
    Remote(String),
    /// The session already ended: nothing more can be written.
    #[error("the exec session has ended")]
    Closed,
}

/// What to run and which streams to attach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// The container; `None` lets the server pick the pod's only container.
    pub container: Option<String>,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// A terminal: stdout and stderr merge, and [`TerminalResizer`] sets its size.
    pub tty: bool,
}

impl ExecOptions {
    /// `command` with stdout and stderr attached, no stdin, no terminal.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecOptions {
            container: None,
            command: command.into_iter().map(Into::into).collect(),
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }

    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }

    pub fn stdin(mut self, on: bool) -> Self {
        self.stdin = on;
        self
    }

    /// A terminal; as kubectl does, stderr is then not asked for (a terminal has one output).
    pub fn tty(mut self, on: bool) -> Self {
        self.tty = on;
        if on {
            self.stderr = false;
        }
        self
    }

    /// The path and query of the exec request.
    pub fn path(&self, namespace: &str, pod: &str) -> Result<String, ExecError> {
        if self.command.is_empty() {
            return Err(ExecError::Invalid(
                "the command is empty: give at least one word".into(),
            ));
        }
        let mut query: Vec<String> = self
            .command
            .iter()
            .map(|word| format!("command={}", urlencoding::encode(word)))
            .collect();
        if let Some(container) = &self.container {
            query.push(format!("container={}", urlencoding::encode(container)));
        }
        for (name, on) in [
            ("stdin", self.stdin),
            ("stdout", self.stdout),
            ("stderr", self.stderr),
            ("tty", self.tty),
        ] {
            if on {
                query.push(format!("{name}=true"));
            }
        }
        Ok(format!(
            "/api/v1/namespaces/{}/pods/{}/exec?{}",
            urlencoding::encode(namespace),
            urlencoding::encode(pod),
            query.join("&")
        ))
    }
}

/// A running remote command.
pub struct ExecSession {
    /// The command's standard input, if asked for.
    pub stdin: Option<ExecStdin>,
    /// What the command writes to stdout (with a terminal: everything it writes).
    pub stdout: Option<mpsc::Receiver<Bytes>>,
    /// What the command writes to stderr (never with a terminal).
    pub stderr: Option<mpsc::Receiver<Bytes>>,
    resizer: TerminalResizer,
    protocol: String,
    done: oneshot::Receiver<Result<Outcome, ExecError>>,
}

impl ExecSession {
    /// A handle that sets the remote terminal's size (only meaningful with `tty`).
    pub fn resizer(&self) -> TerminalResizer {
        self.resizer.clone()
    }

    /// The subprotocol the server chose (`v5.channel.k8s.io`).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Waits for the command to end; its exit code, or why it could not run.
    pub async fn wait(self) -> Result<i32, ExecError> {
        drop(self.stdout);
        drop(self.stderr);
        match self.done.await {
            Ok(Ok(Outcome::Exited(code))) => Ok(code),
            Ok(Ok(Outcome::Failed(message))) => Err(ExecError::Remote(message)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ExecError::Closed),
        }
    }
}

/// The remote command's standard input.
pub struct ExecStdin {
    outgoing: mpsc::Sender<Message>,
    v5: bool,
}

impl ExecStdin {
    /// Sends `data` to the command.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), ExecError> {
        send(&self.outgoing, protocol::encode(protocol::STDIN, data)).await
    }

    /// End of file for the command (v5; a v4 server cannot be told, so this only stops writing).
    pub async fn close(self) -> Result<(), ExecError> {
        if self.v5 {
            send(&self.outgoing, protocol::close_signal(protocol::STDIN)).await?;
        }
        Ok(())
    }
}

/// Sets the size of the remote terminal.
#[derive(Clone)]
pub struct TerminalResizer {
    outgoing: mpsc::Sender<Message>,
}

impl TerminalResizer {
    pub async fn resize(&self, width: u16, height: u16) -> Result<(), ExecError> {
        send(&self.outgoing, protocol::encode_resize(TerminalSize { width, height })).await
    }
}

async fn send(outgoing: &mpsc::Sender<Message>, message: Vec<u8>) -> Result<(), ExecError> {
    outgoing
        .send(Message::Binary(message.into()))
        .await
        .map_err(|_| ExecError::Closed)
}

/// Opens an exec session on pod `namespace/pod`.
pub async fn connect(
    client: &Client,
    namespace: &str,
    pod: &str,
    options: &ExecOptions,
) -> Result<ExecSession, ExecError> {
    let path = options.path(namespace, pod)?;
    let server = client.server().trim_end_matches('/');
    let Some(rest) = server.strip_prefix("http://") else {
        return Err(ExecError::Invalid(format!(
            "exec needs a plain http:// server, and {server} is not one (kubelab's client has no TLS)"
        )));
    };
    let host = rest.split('/').next().unwrap_or(rest).to_string();
    let url = format!("ws://{host}{path}");
    let connection_error = |message: String| ExecError::Connection {
        url: url.clone(),
        message,
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ExecError::Invalid(format!("{url}: {e}")))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("v5.channel.k8s.io, v4.channel.k8s.io"),
    );
    let tcp = tokio::net::TcpStream::connect(&host)
        .await
        .map_err(|e| connection_error(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let (socket, response) = match tokio_tungstenite::client_async(request, tcp).await {
        Ok(pair) => pair,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let code = response.status().as_u16();
            let body = response.body().as_deref().unwrap_or_default();
            let message = serde_json::from_slice::<kubelab_api::Status>(body)
                .ok()
                .map(|s| s.message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
            return Err(ExecError::Refused { code, message });
        }
        Err(e) => return Err(connection_error(e.to_string())),
    };
    let protocol = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let v5 = protocol == protocol::V5;

    let (outgoing, mut to_send) = mpsc::channel::<Message>(16);
    let (stdout_tx, stdout_rx) = mpsc::channel(OUTPUT_BUFFER);
    let (stderr_tx, stderr_rx) = mpsc::channel(OUTPUT_BUFFER);
    let (done_tx, done) = oneshot::channel();
    let (mut sink, mut stream) = socket.split();
    tokio::spawn(async move {
        let mut error_stream = Vec::new();
        let result = loop {
            tokio::select! {
                message = stream.next() => match message {
                    None => break Ok(()),
                    Some(Err(e)) => break Err(ExecError::Connection { url: url.clone(), message: e.to_string() }),
                    Some(Ok(Message::Binary(data))) => match protocol::decode(&data, v5) {
                        Ok(protocol::Frame::Data { channel: protocol::STDOUT, data }) if !data.is_empty() => {
                            let _ = stdout_tx.send(Bytes::copy_from_slice(data)).await;
                        }
                        Ok(protocol::Frame::Data { channel: protocol::STDERR, data }) if !data.is_empty() => {
                            let _ = stderr_tx.send(Bytes::copy_from_slice(data)).await;
                        }
                        Ok(protocol::Frame::Data { channel: protocol::ERROR, data }) => error_stream.extend_from_slice(data),
                        Ok(_) => {}
                        Err(e) => break Err(e.into()),
                    },
                    Some(Ok(Message::Close(_))) => break Ok(()),
                    Some(Ok(_)) => {}
                },
                Some(message) = to_send.recv() => {
                    if let Err(e) = sink.send(message).await {
                        break Err(ExecError::Connection { url: url.clone(), message: e.to_string() });
                    }
                }
            }
        };
        let _ = sink.close().await;
        let outcome = result.and_then(|()| protocol::decode_outcome(&error_stream).map_err(ExecError::from));
        let _ = done_tx.send(outcome);
    });
    Ok(ExecSession {
        stdin: options.stdin.then(|| ExecStdin {
            outgoing: outgoing.clone(),
            v5,
        }),
        stdout: (options.stdout || options.tty).then_some(stdout_rx),
        stderr: (options.stderr && !options.tty).then_some(stderr_rx),
        resizer: TerminalResizer { outgoing },
        protocol,
        done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_carries_every_word_and_stream() {
        let options = ExecOptions::new(["sh", "-c", "echo hi; exit 3"])
            .container("app")
            .stdin(true);
        assert_eq!(
            options.path("default", "web").unwrap(),
            "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20hi%3B%20exit%203\
             &container=app&stdin=true&stdout=true&stderr=true"
        );
        let tty = ExecOptions::new(["sh"]).stdin(true).tty(true);
        assert_eq!(
            tty.path("ns", "p").unwrap(),
            "/api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true&stdout=true&tty=true"
        );
        assert!(matches!(
            ExecOptions::new(Vec::<String>::new()).path("ns", "p"),
            Err(ExecError::Invalid(_))
        ));
    }
}

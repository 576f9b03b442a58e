//! # The remote-command channel protocol (`v5.channel.k8s.io`), as pure functions
//!
//! `kubectl exec` runs a process in a container and wires its standard streams to the user's
//! terminal, across the API server and the node agent. Since Kubernetes 1.30 the wire is one
//! WebSocket whose subprotocol is `v5.channel.k8s.io` (`v4.channel.k8s.io` without the close
//! signal). Every message is a **binary** frame whose first byte says which stream it belongs to:
//!
//! | first byte | stream | direction | payload |
//! | --- | --- | --- | --- |
//! | 0 | stdin | client → server | bytes for the process's standard input |
//! | 1 | stdout | server → client | bytes the process wrote |
//! | 2 | stderr | server → client | bytes the process wrote (none with a terminal: it is merged) |
//! | 3 | error | server → client | one `Status` once the process ended: `Success`, or `Failure` with reason `NonZeroExitCode` and the code in `details.causes[{reason: ExitCode}]` |
//! | 4 | resize | client → server | `{"Width":80,"Height":24}` |
//! | 255 | close (v5 only) | both | one more byte: the stream that will carry nothing more (the client's end of stdin) |
//!
//! After the error stream's `Status` the server closes the WebSocket with a normal closure, and
//! the client reads that as the end of every stream. These functions encode and decode those
//! frames; the agent (the server side) and [`super`] (the client side) both use them.

use kubelab_api::meta::{Status, StatusCause, StatusDetails};
use serde::{Deserialize, Serialize};

/// The subprotocol with the close signal (kubectl 1.30+ asks for it alone).
pub const V5: &str = "v5.channel.k8s.io";
/// The subprotocol without the close signal.
pub const V4: &str = "v4.channel.k8s.io";
/// What kubelab speaks, preferred first.
pub const PROTOCOLS: [&str; 2] = [V5, V4];

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5's "this stream is finished" signal.
pub const CLOSE: u8 = 255;

/// `reason` of the `Status` of a process that exited with a non-zero code.
pub const NON_ZERO_EXIT_CODE: &str = "NonZeroExitCode";
/// `reason` of the cause that carries the exit code.
pub const EXIT_CODE_CAUSE: &str = "ExitCode";

/// A terminal's size, as the resize stream carries it (Go's field names, capitalised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

/// One decoded message.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Bytes of stream `channel`.
    Data { channel: u8, data: &'a [u8] },
    /// v5: stream `channel` will carry nothing more.
    Close { channel: u8 },
}

/// Why a message is not a valid frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// A message with no channel byte at all.
    #[error("an empty message: every message starts with its stream's number")]
    Empty,
    /// A close signal that does not name exactly one stream.
    #[error("a close signal (255) must be followed by exactly one stream number, got {0} bytes")]
    BadClose(usize),
    /// A resize message that is not `{"Width":W,"Height":H}`.
    #[error("a resize message must be {{\"Width\":W,\"Height\":H}}: {0}")]
    BadResize(String),
    /// The error stream did not carry a `Status`.
    #[error("the error stream did not carry a Status: {0}")]
    BadStatus(String),
}

/// Decodes one binary message. `v5` says whether the close signal exists (in v4, 255 would be
/// just another, unknown, stream).
pub fn decode(message: &[u8], v5: bool) -> Result<Frame<'_>, ProtocolError> {
    let (&channel, rest) = message.split_first().ok_or(ProtocolError::Empty)?;
    if v5 && channel == CLOSE {
        return match rest {
            [stream] => Ok(Frame::Close { channel: *stream }),
            other => Err(ProtocolError::BadClose(other.len())),
        };
    }
    Ok(Frame::Data { channel, data: rest })
}

/// A message carrying `data` on stream `channel`.
pub fn encode(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(data.len() + 1);
    message.push(channel);
    message.extend_from_slice(data);
    message
}

/// The v5 signal that stream `channel` is finished.
pub fn close_signal(channel: u8) -> Vec<u8> {
    vec![CLOSE, channel]
}

/// Reads a resize payload.
pub fn decode_resize(data: &[u8]) -> Result<TerminalSize, ProtocolError> {
    serde_json::from_slice(data).map_err(|e| ProtocolError::BadResize(e.to_string()))
}

/// A resize payload.
pub fn encode_resize(size: TerminalSize) -> Vec<u8> {
    encode(RESIZE, &serde_json::to_vec(&size).unwrap_or_default())
}

/// The error stream's `Status` for a process that exited with `code`.
pub fn exit_status(code: i32) -> Status {
    if code == 0 {
        return Status {
            status: "Success".into(),
            ..Default::default()
        };
    }
    Status {
        status: "Failure".into(),
        reason: NON_ZERO_EXIT_CODE.into(),
        message: format!("command terminated with non-zero exit code: exit status {code}"),
        details: Some(StatusDetails {
            causes: vec![StatusCause {
                reason: EXIT_CODE_CAUSE.into(),
                message: code.to_string(),
                field: String::new(),
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The error stream's `Status` when the command could not run at all (kubectl prints `message`).
pub fn failure_status(message: impl Into<String>) -> Status {
    Status {
        status: "Failure".into(),
        message: message.into(),
        ..Default::default()
    }
}

/// A `Status` as the error stream's message.
pub fn encode_status(status: &Status) -> Vec<u8> {
    encode(ERROR, &serde_json::to_vec(status).unwrap_or_default())
}

/// How a remote command ended, read from the error stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The process exited with this code (0 is success).
    Exited(i32),
    /// The command did not run, or the server failed; the message says why.
    Failed(String),
}

/// Reads the error stream's content: a `Status`, or nothing at all (v1-v3 servers send nothing
/// on success, and so does a connection that closed early: treat that as exit 0, as client-go
/// does).
pub fn decode_outcome(data: &[u8]) -> Result<Outcome, ProtocolError> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Ok(Outcome::Exited(0));
    }
    let status: Status = serde_json::from_slice(data).map_err(|e| ProtocolError::BadStatus(e.to_string()))?;
    match status.status.as_str() {
        "Success" => Ok(Outcome::Exited(0)),
        "Failure" if status.reason == NON_ZERO_EXIT_CODE => {
            let code = status
                .details
                .iter()
                .flat_map(|d| &d.causes)
                .find(|c| c.reason == EXIT_CODE_CAUSE)
                .and_then(|c| c.message.parse::<i32>().ok())
                .ok_or_else(|| ProtocolError::BadStatus(format!("{} without an ExitCode cause", status.reason)))?;
            Ok(Outcome::Exited(code))
        }
        "Failure" => Ok(Outcome::Failed(status.message)),
        other => Err(ProtocolError::BadStatus(format!("unknown status {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        assert_eq!(
            decode(&encode(STDOUT, b"hi\n"), true),
            Ok(Frame::Data {
                channel: STDOUT,
                data: b"hi\n"
            })
        );
        assert_eq!(decode(&close_signal(STDIN), true), Ok(Frame::Close { channel: STDIN }));
        // In v4, 255 is not special.
        assert_eq!(
            decode(&[255, 0], false),
            Ok(Frame::Data {
                channel: 255,
                data: &[0]
            })
        );
        assert_eq!(decode(&[], true), Err(ProtocolError::Empty));
        assert_eq!(decode(&[255], true), Err(ProtocolError::BadClose(0)));
        assert_eq!(decode(&[255, 1, 2], true), Err(ProtocolError::BadClose(2)));
        // An empty payload is allowed (a stream announcing itself).
        assert_eq!(
            decode(&[STDERR], true),
            Ok(Frame::Data {
                channel: STDERR,
                data: &[]
            })
        );
    }

    #[test]
    fn resize_uses_go_field_names() {
        let size = TerminalSize { width: 80, height: 24 };
        let message = encode_resize(size);
        assert_eq!(message[0], RESIZE);
        assert_eq!(&message[1..], br#"{"Width":80,"Height":24}"#);
        assert_eq!(decode_resize(&message[1..]), Ok(size));
        assert!(matches!(
            decode_resize(b"{\"width\":1}"),
            Err(ProtocolError::BadResize(_))
        ));
    }

    #[test]
    fn exit_statuses_are_kubelets() {
        let ok = serde_json::to_value(exit_status(0)).unwrap();
        assert_eq!(ok, serde_json::json!({"metadata": {}, "status": "Success", "code": 0}));
        let three = serde_json::to_value(exit_status(3)).unwrap();
        assert_eq!(three["status"], "Failure");
        assert_eq!(three["reason"], "NonZeroExitCode");
        assert_eq!(
            three["details"]["causes"][0],
            serde_json::json!({"reason": "ExitCode", "message": "3"})
        );
        for code in [0, 3, 127] {
            let message = encode_status(&exit_status(code));
            assert_eq!(message[0], ERROR);
            assert_eq!(decode_outcome(&message[1..]), Ok(Outcome::Exited(code)));
        }
        let failed = encode_status(&failure_status("container not found (\"web\")"));
        assert_eq!(
            decode_outcome(&failed[1..]),
            Ok(Outcome::Failed("container not found (\"web\")".into()))
        );
        assert_eq!(decode_outcome(b""), Ok(Outcome::Exited(0)));
        assert!(decode_outcome(b"not json").is_err());
        assert!(decode_outcome(br#"{"status":"Failure","reason":"NonZeroExitCode"}"#).is_err());
    }
}

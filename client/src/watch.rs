//! Watch events, and how they are cut out of an HTTP body.
//!
//! `GET /api/v1/namespaces/default/pods?watch=true&resourceVersion=41` does not end: the server
//! keeps the response open and writes one JSON object per line for every change after revision
//! 41, flushing each at once:
//!
//! ```text
//! {"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"web","resourceVersion":"42"},...}}
//! {"type":"MODIFIED","object":{...,"resourceVersion":"43"}}
//! {"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"50"}}}
//! {"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",...}}
//! ```
//!
//! TCP does not keep the server's writes apart: one chunk we read may hold half an event, or
//! three events and the start of a fourth. [`LineDecoder`] buffers bytes and hands out only
//! complete lines; that framing is the whole trick of reading a watch.

use std::collections::VecDeque;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use kubelab_api::Status;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ClientError;

/// One event of a watch.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // a Status is big, but objects are usually bigger
pub enum WatchEvent<T> {
    /// The object was created (or, for a watch from `resourceVersion=0`, already existed).
    Added(T),
    /// The object changed; this is its new state.
    Modified(T),
    /// The object is gone; this is its last state.
    Deleted(T),
    /// Nothing changed that this watch sees, but the server has reached `resource_version`:
    /// a later watch may resume from there.
    Bookmark { resource_version: String },
    /// The server ended the watch with an error, most often `410 Gone`: the revision asked for
    /// is older than the history the server keeps.
    Error(Status),
}

impl<T> WatchEvent<T> {
    /// The event's object, for ADDED, MODIFIED and DELETED.
    pub fn object(&self) -> Option<&T> {
        match self {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => Some(o),
            _ => None,
        }
    }
}

/// The shape on the wire: `{"type": ..., "object": ...}`. The object is kept as the slice of
/// the line it spans and decoded once its type is known, straight into `T`: no JSON tree is
/// built in between (a controller decodes tens of thousands of these a second in a rollout).
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow, default)]
    object: Option<&'a RawValue>,
}

/// Just enough of a BOOKMARK's object: `{"metadata": {"resourceVersion": "50"}}`.
#[derive(Deserialize)]
struct BookmarkObject {
    #[serde(default)]
    metadata: BookmarkMeta,
}

#[derive(Deserialize, Default)]
struct BookmarkMeta {
    #[serde(default, rename = "resourceVersion")]
    resource_version: String,
}

/// Decodes one line of a watch body.
pub fn parse_event<T: DeserializeOwned>(line: &[u8]) -> Result<WatchEvent<T>, ClientError> {
    let decode_error = |what: &str, source| ClientError::Decode {
        context: format!("{what} in watch line {:?}", String::from_utf8_lossy(line)),
        source,
    };
    let raw: RawEvent = serde_json::from_slice(line).map_err(|e| decode_error("event", e))?;
    let object_text = raw.object.map(RawValue::get).unwrap_or("null");
    let object = || serde_json::from_str::<T>(object_text).map_err(|e| decode_error("object", e));
    match raw.kind {
        "ADDED" => Ok(WatchEvent::Added(object()?)),
        "MODIFIED" => Ok(WatchEvent::Modified(object()?)),
        "DELETED" => Ok(WatchEvent::Deleted(object()?)),
        "BOOKMARK" => {
            let bookmark: BookmarkObject =
                serde_json::from_str(object_text).map_err(|e| decode_error("BOOKMARK object", e))?;
            Ok(WatchEvent::Bookmark {
                resource_version: bookmark.metadata.resource_version,
            })
        }
        "ERROR" => {
            let status: Status = serde_json::from_str(object_text).map_err(|e| decode_error("Status", e))?;
            Ok(WatchEvent::Error(status))
        }
        other => Err(ClientError::Request(format!("unknown watch event type {other:?}"))),
    }
}

/// Cuts a byte stream into newline-terminated lines.
#[derive(Debug, Default)]
pub struct LineDecoder {
    buffer: Vec<u8>,
}

impl LineDecoder {
    /// Adds a chunk and returns the lines it completed (without their `\n`; blank lines
    /// skipped). An unfinished line stays in the buffer until the next chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.buffer.extend_from_slice(chunk);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(offset) = self.buffer[start..].iter().position(|&b| b == b'\n') {
            let line = &self.buffer[start..start + offset];
            if !line.iter().all(u8::is_ascii_whitespace) {
                lines.push(line.to_vec());
            }
            start += offset + 1;
        }
        self.buffer.drain(..start);
        lines
    }

    /// What is left when the stream ends: a last line the server did not terminate, if any.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.buffer);
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }
}

/// Turns the chunks of a watch body into a stream of events. The stream ends when the server
/// closes the body; a transport error is passed on as an item and ends it too.
pub(crate) fn event_stream<T: DeserializeOwned + Send + 'static>(
    chunks: BoxStream<'static, Result<Bytes, ClientError>>,
) -> BoxStream<'static, Result<WatchEvent<T>, ClientError>> {
    struct State<T> {
        chunks: Option<BoxStream<'static, Result<Bytes, ClientError>>>,
        decoder: LineDecoder,
        ready: VecDeque<Result<WatchEvent<T>, ClientError>>,
    }
    let state = State {
        chunks: Some(chunks),
        decoder: LineDecoder::default(),
        ready: VecDeque::new(),
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.ready.pop_front() {
                return Some((event, state));
            }
            let chunks = state.chunks.as_mut()?;
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    let lines = state.decoder.push(&chunk);
                    state.ready.extend(lines.iter().map(|line| parse_event(line)));
                }
                Some(Err(e)) => {
                    state.chunks = None;
                    return Some((Err(e), state));
                }
                None => {
                    state.chunks = None;
                    if let Some(line) = state.decoder.finish() {
                        state.ready.push_back(parse_event(&line));
                    }
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn line(kind: &str, rv: &str) -> String {
        json!({"type": kind, "object": {"kind":"Pod","metadata":{"name":"p","resourceVersion":rv}}}).to_string() + "\n"
    }

    #[test]
    fn decoder_handles_split_and_joined_chunks() {
        let text = format!(
            "{}{}{}",
            line("ADDED", "1"),
            line("MODIFIED", "2"),
            line("DELETED", "3")
        );
        let bytes = text.as_bytes();
        // Every way of cutting the text in three pieces yields the same three lines.
        for a in 0..bytes.len() {
            for b in a..bytes.len() {
                let mut decoder = LineDecoder::default();
                let mut lines = decoder.push(&bytes[..a]);
                lines.extend(decoder.push(&bytes[a..b]));
                lines.extend(decoder.push(&bytes[b..]));
                assert_eq!(lines.len(), 3, "cut at {a},{b}");
                assert_eq!(decoder.finish(), None);
            }
        }
    }

    #[test]
    fn decoder_skips_blank_lines_and_keeps_an_unterminated_tail() {
        let mut decoder = LineDecoder::default();
        assert_eq!(decoder.push(b"\n\r\n{\"a\":1}\n{\"b\""), vec![b"{\"a\":1}".to_vec()]);
        assert_eq!(decoder.finish(), Some(b"{\"b\"".to_vec()));
    }

    #[test]
    fn events_parse() {
        let added: WatchEvent<Value> = parse_event(line("ADDED", "7").trim().as_bytes()).unwrap();
        assert_eq!(
            added.object().and_then(|o| o.pointer("/metadata/resourceVersion")),
            Some(&json!("7"))
        );
        let bookmark: WatchEvent<Value> = parse_event(line("BOOKMARK", "9").as_bytes()).unwrap();
        assert_eq!(
            bookmark,
            WatchEvent::Bookmark {
                resource_version: "9".into()
            }
        );
        let error =
            json!({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}});
        match parse_event::<Value>(error.to_string().as_bytes()).unwrap() {
            WatchEvent::Error(status) => assert_eq!((status.code, status.reason.as_str()), (410, "Expired")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse_event::<Value>(b"{not json").is_err());
        assert!(parse_event::<Value>(br#"{"type":"WEIRD","object":{}}"#).is_err());
    }

    #[tokio::test]
    async fn event_stream_reassembles_chunks() {
        let text = format!("{}{}", line("ADDED", "1"), line("MODIFIED", "2"));
        let (a, b) = text.split_at(10);
        let (b, c) = b.split_at(b.len() - 3);
        let chunks: Vec<Result<Bytes, ClientError>> = vec![
            Ok(Bytes::from(a.to_string())),
            Ok(Bytes::from(b.to_string())),
            Ok(Bytes::from(c.to_string())),
        ];
        let events: Vec<_> = event_stream::<Value>(stream::iter(chunks).boxed()).collect().await;
        assert_eq!(events.len(), 2);
        assert!(matches!(events[0], Ok(WatchEvent::Added(_))));
        assert!(matches!(events[1], Ok(WatchEvent::Modified(_))));
    }
}

//! # A tiny HTTP/1.1 load generator for `kubelab bench service`
//!
//! The service bench measures a layer-4 proxy, so its client must cost as little as possible per
//! request and never hide the proxy's latency behind its own: plain keep-alive connections, one
//! request in flight per connection, a reused buffer, and just enough parsing to find the end of
//! each answer (`Content-Length`). Two modes:
//!
//! - **closed loop** ([`throughput`]): every connection sends its next request as soon as the
//!   last answer is in. The total rate is whatever the path can carry: requests per second;
//! - **open loop** ([`fixed_rate`]): each connection sends on a fixed schedule and latency is
//!   counted from the *scheduled* time, so a stall is charged to every request it delayed
//!   (no "coordinated omission").

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

/// One keep-alive HTTP connection.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `GET /` and reads the whole answer; returns its body.
    pub async fn get(&mut self) -> anyhow::Result<&[u8]> {
        self.stream.write_all(REQUEST).await?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break (end + 4, content_length(&self.buf[..end])?);
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed before the answer's headers");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed inside the answer's body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(&self.buf[head_end..head_end + length])
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `Content-Length` of a response head (its status line is checked to be a 200).
fn content_length(head: &[u8]) -> anyhow::Result<usize> {
    let head = std::str::from_utf8(head)?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") {
        bail!("unexpected answer: {status}");
    }
    lines
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(|| anyhow!("the answer has no Content-Length"))
}

/// Closed loop: `connections` connections (connection i to `targets[i % len]`) for `duration`.
/// Returns (requests answered, errors).
pub async fn throughput(targets: &[SocketAddr], connections: usize, duration: Duration) -> (u64, u64) {
    let deadline = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..connections {
        let target = targets[i % targets.len()];
        tasks.spawn(async move {
            let (mut done, mut errors) = (0u64, 0u64);
            let mut conn = None;
            while Instant::now() < deadline {
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match Connection::open(target).await {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                let answered = c.get().await.is_ok();
                if answered {
                    done += 1;
                } else {
                    errors += 1;
                    conn = None;
                }
            }
            (done, errors)
        });
    }
    let mut total = (0, 0);
    while let Some(Ok((done, errors))) = tasks.join_next().await {
        total.0 += done;
        total.1 += errors;
    }
    total
}

/// Open loop: `rate` requests/s in all, spread over `connections` connections, for `duration`.
/// Returns every request's latency from its scheduled time, and the number of errors.
pub async fn fixed_rate(
    targets: &[SocketAddr],
    connections: usize,
    rate: u64,
    duration: Duration,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let interval = Duration::from_secs_f64(connections as f64 / rate.max(1) as f64);
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..connections {
        let target = targets[i % targets.len()];
        let mut conn = Connection::open(target).await?;
        // Spread the connections' ticks over the interval instead of firing all at once.
        let offset = interval.mul_f64(i as f64 / connections as f64);
        tasks.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut next = start + offset;
            while next < end {
                tokio::time::sleep_until(next).await;
                match conn.get().await {
                    Ok(_) => latencies.push(next.elapsed()),
                    Err(_) => {
                        errors += 1;
                        match Connection::open(target).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
                next += interval;
            }
            (latencies, errors)
        });
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    while let Some(Ok((latencies, e))) = tasks.join_next().await {
        all.extend(latencies);
        errors += e;
    }
    Ok((all, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_content_length_of_a_200() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 42";
        assert_eq!(content_length(head).unwrap(), 42);
        assert!(content_length(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0").is_err());
        assert!(content_length(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked").is_err());
    }

    #[tokio::test]
    async fn a_keep_alive_connection_reads_answer_after_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            for i in 0..3 {
                let _ = s.read(&mut buf).await.unwrap();
                let body = format!("answer {i}");
                let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                s.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let mut conn = Connection::open(addr).await.unwrap();
        for i in 0..3 {
            assert_eq!(conn.get().await.unwrap(), format!("answer {i}").as_bytes());
        }
    }
}

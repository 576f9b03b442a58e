//! # Serving: DNS over UDP and over TCP on port 53
//!
//! Resolvers ask over **UDP** first: one datagram in, one out, no connection. An answer too big
//! for a datagram comes back with the TC bit set (see [`codec`]) and the resolver asks again
//! over **TCP**, where each message is preceded by its length in two bytes (RFC 1035 §4.2.2)
//! and a connection may carry several queries in turn. Both loops hand the bytes to
//! [`respond`], which decodes, looks up in the latest snapshot and encodes: the same answer
//! whatever the transport, apart from its size limit.
//!
//! The UDP loop answers each datagram before reading the next: a lookup is a few map reads, far
//! quicker than a round trip, so there is nothing to wait for in parallel. Each TCP connection
//! gets a task, and is closed after [`TCP_IDLE`] without a query (a client that never sends
//! must not hold a task forever).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;

use super::codec::{self, TCP_LIMIT};
use super::lookup::lookup;
use super::snapshot::Snapshot;

/// How long a TCP connection may stay without a query (CoreDNS: 10 s).
pub const TCP_IDLE: Duration = Duration::from_secs(10);

/// The latest snapshot, `None` until the cluster has been listed once.
pub type Snapshots = watch::Receiver<Option<Arc<Snapshot>>>;

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The UDP socket failed (not one bad datagram: those are skipped).
    #[error("UDP socket: {0}")]
    Udp(io::Error),
    /// The TCP listener failed.
    #[error("TCP listener: {0}")]
    Tcp(io::Error),
}

/// Which transport a query came over: it decides how large the answer may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// The answer to one query's bytes, or `None` when there is nothing to answer (not even a
/// DNS header). Before the first snapshot every question gets SERVFAIL.
pub fn respond(snapshot: Option<&Snapshot>, bytes: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let request = match codec::decode(bytes) {
        Ok(request) => request,
        Err(e) => {
            tracing::debug!(error = %e, "dropping a datagram that is not DNS");
            return None;
        }
    };
    let limit = match transport {
        Transport::Udp => codec::udp_limit(&request),
        Transport::Tcp => TCP_LIMIT,
    };
    let answer = match (&request.question, snapshot) {
        (Ok(question), Some(snapshot)) => {
            let answer = lookup(snapshot, question);
            tracing::debug!(name = %question.name, qtype = ?question.qtype, rcode = ?answer.rcode,
                answers = answer.answers.len(), "query");
            Some(answer)
        }
        _ => None,
    };
    match codec::encode(&request, answer.as_ref(), limit) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode an answer; answering SERVFAIL");
            codec::encode(&request, None, limit).ok()
        }
    }
}

/// Answers datagrams on `socket` until it fails.
pub async fn serve_udp(socket: UdpSocket, snapshots: Snapshots) -> Result<(), ServeError> {
    // Large enough for any query, EDNS0 included.
    let mut buffer = vec![0u8; 4096];
    loop {
        let (len, peer) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            // A previous answer's ICMP "port unreachable" surfaces here on Linux: not fatal.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => return Err(ServeError::Udp(e)),
        };
        let snapshot = snapshots.borrow().clone();
        if let Some(answer) = respond(snapshot.as_deref(), &buffer[..len], Transport::Udp) {
            if let Err(e) = socket.send_to(&answer, peer).await {
                tracing::debug!(%peer, error = %e, "cannot send a UDP answer");
            }
        }
    }
}

/// Accepts TCP connections on `listener` until it fails, each served by its own task.
pub async fn serve_tcp(listener: TcpListener, snapshots: Snapshots) -> Result<(), ServeError> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors, a connection reset before accept: try the next one.
            Err(e) if is_transient(&e) => {
                tracing::warn!(error = %e, "accepting a DNS connection");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            Err(e) => return Err(ServeError::Tcp(e)),
        };
        let snapshots = snapshots.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, snapshots).await {
                tracing::debug!(%peer, error = %e, "DNS connection ended");
            }
        });
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    ) || e.raw_os_error().is_some_and(|code| code == 24 || code == 23) // EMFILE, ENFILE
}

/// Serves the queries of one TCP connection, one after the other, until the client closes it
/// or stays idle for [`TCP_IDLE`].
async fn serve_connection(mut stream: TcpStream, snapshots: Snapshots) -> io::Result<()> {
    loop {
        let mut prefix = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut prefix)).await {
            Err(_idle) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(_)) => {}
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut query))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "a query's bytes stopped coming"))??;
        let snapshot = snapshots.borrow().clone();
        let Some(answer) = respond(snapshot.as_deref(), &query, Transport::Tcp) else {
            return Ok(());
        };
        let len = u16::try_from(answer.len()).map_err(|_| io::Error::other("answer over 65,535 bytes"))?;
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&answer);
        stream.write_all(&framed).await?;
    }
}

/// Binds UDP and TCP on `addr`.
pub async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), ServeError> {
    let udp = UdpSocket::bind(addr).await.map_err(ServeError::Udp)?;
    let tcp = TcpListener::bind(addr).await.map_err(ServeError::Tcp)?;
    Ok((udp, tcp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::snapshot::tests::service;
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::{RData, RecordType as WireType};
    use serde_json::json;

    fn snapshots() -> (watch::Sender<Option<Arc<Snapshot>>>, Snapshots) {
        let services = [service(json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}}))];
        watch::channel(Some(Arc::new(Snapshot::build(&services, [], 1))))
    }

    /// A server on loopback ports the OS picks; returns its address.
    async fn server(snapshots: Snapshots) -> (SocketAddr, SocketAddr) {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (udp_addr, tcp_addr) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
        tokio::spawn(serve_udp(udp, snapshots.clone()));
        tokio::spawn(serve_tcp(tcp, snapshots));
        (udp_addr, tcp_addr)
    }

    async fn ask_udp(server: SocketAddr, name: &str) -> hickory_proto::op::Message {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket
            .send_to(&codec::query(7, name, WireType::A, None).unwrap(), server)
            .await
            .unwrap();
        let mut buffer = [0u8; 1024];
        let len = tokio::time::timeout(Duration::from_secs(10), socket.recv(&mut buffer))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        codec::parse_response(&buffer[..len]).unwrap()
    }

    #[tokio::test]
    async fn udp_and_tcp_give_the_same_answer() {
        let (_tx, rx) = snapshots();
        let (udp, tcp) = server(rx).await;
        let over_udp = ask_udp(udp, "web.default.svc.cluster.local").await;
        assert_eq!(
            over_udp.answers[0].data,
            RData::A(hickory_proto::rr::rdata::A(std::net::Ipv4Addr::new(10, 96, 0, 20)))
        );

        // Two queries on one TCP connection, each with its length prefix.
        let mut stream = TcpStream::connect(tcp).await.unwrap();
        for id in [1u16, 2] {
            let query = codec::query(id, "web.default.svc.cluster.local", WireType::A, None).unwrap();
            stream.write_all(&(query.len() as u16).to_be_bytes()).await.unwrap();
            stream.write_all(&query).await.unwrap();
            let mut prefix = [0u8; 2];
            stream.read_exact(&mut prefix).await.unwrap();
            let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
            stream.read_exact(&mut answer).await.unwrap();
            let over_tcp = codec::parse_response(&answer).unwrap();
            assert_eq!(over_tcp.metadata.id, id);
            assert_eq!(over_tcp.answers, over_udp.answers);
        }
    }

    #[tokio::test]
    async fn a_new_snapshot_is_used_at_once_and_none_means_servfail() {
        let (tx, rx) = snapshots();
        let (udp, _) = server(rx).await;
        tx.send(Some(Arc::new(Snapshot::default()))).unwrap();
        let gone = ask_udp(udp, "web.default.svc.cluster.local").await;
        assert_eq!(gone.metadata.response_code, ResponseCode::NXDomain);
        tx.send(None).unwrap();
        let unsynced = ask_udp(udp, "web.default.svc.cluster.local").await;
        assert_eq!(unsynced.metadata.response_code, ResponseCode::ServFail);
    }

    #[tokio::test]
    async fn garbage_gets_no_answer_and_the_server_keeps_serving() {
        let (_tx, rx) = snapshots();
        let (udp, _) = server(rx).await;
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.send_to(b"hello", udp).await.unwrap();
        let answer = ask_udp(udp, "web.default.svc.cluster.local").await;
        assert_eq!(answer.answers.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_tcp_connection_is_closed_after_tcp_idle() {
        let (_tx, rx) = snapshots();
        let (_, tcp) = server(rx).await;
        let mut stream = TcpStream::connect(tcp).await.unwrap();
        let began = tokio::time::Instant::now();
        // The paused clock jumps ahead while everything waits: no real 10 s pass.
        let mut byte = [0u8; 1];
        let read = stream.read(&mut byte).await.unwrap();
        assert_eq!(read, 0, "the server closed the connection");
        assert!(began.elapsed() >= TCP_IDLE, "{:?}", began.elapsed());
    }
}

//! `run` over a real socket: serves, and a graceful shutdown ends open watches.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Config;

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let deadline = tokio::time::Instant::now() + super::DEADLINE;
    loop {
        match TcpStream::connect(addr).await {
            Ok(stream) => return stream,
            Err(_) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(err) => panic!("server never listened: {err}"),
        }
    }
}

#[tokio::test]
async fn run_serves_and_shuts_down_with_open_watches() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Find a free port, then let the server bind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::run(Config::new(addr, dir.path()), async move {
        let _ = stop_rx.await;
    }));

    let mut plain = connect(addr).await;
    plain
        .write_all(b"GET /api/v1/namespaces/default HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut text = String::new();
    tokio::time::timeout(super::DEADLINE, plain.read_to_string(&mut text))
        .await
        .expect("in time")
        .expect("read");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"name\":\"default\""), "{text}");

    let mut watch = connect(addr).await;
    watch
        .write_all(b"GET /api/v1/namespaces?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(super::DEADLINE, watch.read(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(head.contains("transfer-encoding: chunked"), "{head}");

    stop_tx.send(()).expect("server running");
    let outcome = tokio::time::timeout(super::DEADLINE, server)
        .await
        .expect("shut down in time")
        .expect("join");
    assert!(outcome.is_ok(), "{outcome:?}");
    // The store was closed cleanly: it opens again.
    let reopened = crate::store::sled_store::SledStore::open(dir.path(), Default::default());
    assert!(reopened.is_ok());
}

//! # Listening: one socket per worker on the same port (`SO_REUSEPORT`)
//!
//! Each forwarding worker ([`crate::workers`]) accepts on a listening socket of its own. Linux
//! lets several sockets bind the same address when every one of them sets `SO_REUSEPORT`; it
//! then puts each new connection in the queue of one of them, chosen by a hash of the
//! connection's addresses. No worker wakes for a connection another one takes, and no accepted
//! connection has to be handed to another thread.
//!
//! The sockets are opened here, synchronously, so that a port another process holds fails
//! before any worker is involved; each worker registers its socket with its own runtime.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Socket, Type};

/// How many finished handshakes each socket queues before the kernel refuses new ones.
const BACKLOG: i32 = 1024;

/// Opens `count` listening sockets on `addr`, non-blocking, all sharing the port.
pub fn bind_shared(addr: SocketAddr, count: usize) -> io::Result<Vec<TcpListener>> {
    (0..count).map(|_| bind_one(addr)).collect()
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // SO_REUSEADDR: a restarted proxy may bind while the old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn every_socket_shares_the_one_port() {
        let first = bind_shared("127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let addr = first[0].local_addr().unwrap();
        let more = bind_shared(addr, 2).unwrap();
        assert!(more.iter().all(|l| l.local_addr().unwrap() == addr));
    }

    #[test]
    fn a_port_held_without_reuseport_is_an_error() {
        let holder = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = holder.local_addr().unwrap();
        let err = bind_shared(addr, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn the_sockets_accept_connections() {
        let listeners = bind_shared("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let addr = listeners[0].local_addr().unwrap();
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"hi").unwrap();
        // The connection is in the queue of one of the two sockets; find it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut accepted = loop {
            if let Some((stream, _)) = listeners.iter().find_map(|l| l.accept().ok()) {
                break stream;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no socket accepted the connection"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        accepted.set_nonblocking(false).unwrap();
        let mut got = [0u8; 2];
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hi");
    }
}

//! # `kubelab-demo resolve NAME`: a tiny `dig` for the inside of a pod
//!
//! Labs about DNS need to show what a name resolves to *from a pod*, in an image without `dig`
//! or `nslookup`:
//!
//! - `resolve NAME` asks the system resolver (glibc's `getaddrinfo`, which reads the pod's
//!   `/etc/resolv.conf` and its search path, exactly as any program in the pod would) and prints
//!   each IPv4 address, one a line, sorted;
//! - `resolve --srv NAME` sends an SRV query itself (the system resolver has no SRV call) to the
//!   first `nameserver` of `/etc/resolv.conf`, trying the search domains as the resolver would,
//!   over UDP and again over TCP if the answer was truncated. It prints `PRIORITY WEIGHT PORT
//!   TARGET` per record, then the additional section's addresses as `TARGET IP`.
//!
//! Exit status: 0 with at least one answer, 1 when the name has none, 2 when nothing answered.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use kubelab_proxy::dns::codec::{self, WireData, WireMessage, WireRecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Flags of `kubelab-demo resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The name to resolve (`web`, `db.default`, `_http._tcp.web.default.svc.cluster.local`).
    pub name: String,
    /// Ask for SRV records instead of addresses.
    #[arg(long)]
    pub srv: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

/// Resolves the name, prints what it found, and returns the exit status.
pub async fn run(args: ResolveArgs) -> Result<u8, String> {
    let timeout = Duration::from_secs(args.timeout.max(1));
    if args.srv {
        return srv(&args.name, timeout).await;
    }
    let looked_up = tokio::time::timeout(timeout, tokio::net::lookup_host((args.name.as_str(), 0))).await;
    match looked_up {
        Err(_) => {
            eprintln!("resolve {}: no answer within {timeout:?}", args.name);
            Ok(2)
        }
        Ok(Err(e)) => {
            eprintln!("resolve {}: {e}", args.name);
            Ok(1)
        }
        Ok(Ok(found)) => {
            let mut ips: Vec<Ipv4Addr> = found
                .filter_map(|a| match a.ip() {
                    IpAddr::V4(ip) => Some(ip),
                    IpAddr::V6(_) => None,
                })
                .collect();
            ips.sort();
            ips.dedup();
            for ip in &ips {
                println!("{ip}");
            }
            Ok(if ips.is_empty() { 1 } else { 0 })
        }
    }
}

/// What `/etc/resolv.conf` says: name servers and search domains.
fn resolv_conf(text: &str) -> (Vec<IpAddr>, Vec<String>) {
    let (mut servers, mut search) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => servers.extend(words.next().and_then(|w| w.parse::<IpAddr>().ok())),
            Some("search") => search = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    (servers, search)
}

/// The names to try, in order: a name ending in `.` as it is; otherwise under each search
/// domain first, then as it is (a short SRV name such as `_http._tcp.web` means something only
/// under a search domain).
fn candidates(name: &str, search: &[String]) -> Vec<String> {
    if let Some(absolute) = name.strip_suffix('.') {
        return vec![absolute.to_string()];
    }
    let mut names: Vec<String> = search.iter().map(|domain| format!("{name}.{domain}")).collect();
    names.push(name.to_string());
    names
}

async fn srv(name: &str, timeout: Duration) -> Result<u8, String> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").map_err(|e| format!("reading /etc/resolv.conf: {e}"))?;
    let (servers, search) = resolv_conf(&conf);
    let server = SocketAddr::new(*servers.first().ok_or("no nameserver in /etc/resolv.conf")?, 53);
    let mut answered = false;
    for (i, candidate) in candidates(name, &search).iter().enumerate() {
        let query = codec::query(0x4b00 + i as u16, candidate, WireRecordType::SRV, None).map_err(|e| e.to_string())?;
        let response = match ask(server, &query, timeout).await {
            Ok(response) => response,
            Err(e) => {
                eprintln!("resolve --srv {candidate}: {e}");
                continue;
            }
        };
        answered = true;
        let records: Vec<String> = response
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                WireData::SRV(srv) => Some(format!(
                    "{} {} {} {}",
                    srv.priority,
                    srv.weight,
                    srv.port,
                    srv.target.to_ascii().trim_end_matches('.')
                )),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            continue;
        }
        for record in records {
            println!("{record}");
        }
        for extra in &response.additionals {
            if let WireData::A(a) = &extra.data {
                println!("{} {}", extra.name.to_ascii().trim_end_matches('.'), a.0);
            }
        }
        return Ok(0);
    }
    if answered {
        eprintln!("resolve --srv {name}: no SRV records");
        Ok(1)
    } else {
        Ok(2)
    }
}

/// One query over UDP, again over TCP if the answer came back truncated.
async fn ask(server: SocketAddr, query: &[u8], timeout: Duration) -> Result<WireMessage, String> {
    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
        .await
        .map_err(|e| e.to_string())?;
    socket.send_to(query, server).await.map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; 4096];
    let len = tokio::time::timeout(timeout, socket.recv(&mut buffer))
        .await
        .map_err(|_| format!("no answer from {server} within {timeout:?}"))?
        .map_err(|e| e.to_string())?;
    let response = codec::parse_response(&buffer[..len]).map_err(|e| e.to_string())?;
    if !response.metadata.truncation {
        return Ok(response);
    }
    let over_tcp = async {
        let mut stream = tokio::net::TcpStream::connect(server).await?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream.write_all(&framed).await?;
        let mut prefix = [0u8; 2];
        stream.read_exact(&mut prefix).await?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        stream.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(timeout, over_tcp)
        .await
        .map_err(|_| format!("no TCP answer from {server} within {timeout:?}"))?
        .map_err(|e| e.to_string())?;
    codec::parse_response(&answer).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_and_search_candidates() {
        let (servers, search) = resolv_conf(
            "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.11\noptions ndots:0\n",
        );
        assert_eq!(servers, ["127.0.0.11".parse::<IpAddr>().unwrap()]);
        assert_eq!(
            candidates("_http._tcp.web", &search),
            [
                "_http._tcp.web.default.svc.cluster.local",
                "_http._tcp.web.svc.cluster.local",
                "_http._tcp.web.cluster.local",
                "_http._tcp.web"
            ]
        );
        assert_eq!(candidates("x.example.", &search), ["x.example"]);
    }
}

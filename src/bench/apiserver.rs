//! `kubelab bench apiserver`: C clients creating, updating and deleting pods as fast as they can
//! (or at a fixed total rate with `--rate`), while W watchers follow every change.
//!
//! What it reports, and how each figure is taken:
//! - **writes/s**: acknowledged creates + updates + deletes over the run's wall time. Every write is
//!   durable when acknowledged (the store flushes before it answers).
//! - **write latency**: from sending a request to reading its response, per write.
//! - **watch delivery**: for every acknowledged write, from the moment its response arrived to the
//!   moment the *last* watcher received its event (so "every watcher has it"), p50/p99.
//! - **apiserver memory**: resident set size of the server process at the end, and its peak; with
//!   `--preload N` the server first holds N extra pods, to see what a big cluster costs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::process::ApiserverProcess;
use super::stats::LatencySummary;

const NAMESPACE: &str = "bench";

/// Flags of `kubelab bench apiserver`.
#[derive(Args, Debug, Clone)]
pub struct ApiserverBenchArgs {
    /// Concurrent writing clients.
    #[arg(long, short = 'c', default_value_t = 16)]
    pub clients: usize,
    /// Concurrent watchers of the pods being written.
    #[arg(long, short = 'w', default_value_t = 0)]
    pub watchers: usize,
    /// Seconds of writing.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Total writes per second across all clients (open loop); unlimited when absent.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Pods to create before measuring, held for the whole run (for memory at scale).
    #[arg(long, default_value_t = 0)]
    pub preload: usize,
    /// Print one JSON object instead of a text report.
    #[arg(long)]
    pub json: bool,
}

/// One acknowledged write: when its response arrived, and the revision it produced.
struct Ack {
    at: Instant,
    revision: u64,
}

#[derive(serde::Serialize)]
struct Report {
    clients: usize,
    watchers: usize,
    duration_s: f64,
    rate_target: Option<u64>,
    preload: usize,
    writes: usize,
    errors: usize,
    writes_per_s: f64,
    write_latency: LatencySummary,
    watch_delivery: Option<LatencySummary>,
    watch_events_missing: usize,
    apiserver_rss_bytes: Option<u64>,
    apiserver_peak_rss_bytes: Option<u64>,
}

pub async fn run(args: ApiserverBenchArgs) -> anyhow::Result<()> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let data = tempfile_dir()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients + 8)
        .build()?;
    let server = ApiserverProcess::start(&data, &http).await?;
    let base = format!("http://{}", server.addr);
    let result = measure(&args, &http, &base, &server).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&data);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

async fn measure(
    args: &ApiserverBenchArgs,
    http: &reqwest::Client,
    base: &str,
    server: &ApiserverProcess,
) -> anyhow::Result<Report> {
    create_namespace(http, base).await?;
    preload(http, base, args.preload, args.clients).await?;

    let list_rv = list_revision(http, base).await?;
    let mut watchers = Vec::new();
    for _ in 0..args.watchers {
        watchers.push(tokio::spawn(watch_pods(
            http.clone(),
            base.to_string(),
            list_rv.clone(),
        )));
    }
    // Give the watch requests time to be established before writing, so none starts late.
    wait_for_watchers(http, base, args.watchers).await;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let per_client_interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.clients as f64 / rate.max(1) as f64));
    let mut writers = Vec::new();
    for client in 0..args.clients {
        let (http, base) = (http.clone(), base.to_string());
        writers.push(tokio::spawn(write_loop(
            http,
            base,
            client,
            args.clients,
            deadline,
            per_client_interval,
        )));
    }
    let mut latencies = Vec::new();
    let mut acks = Vec::new();
    let mut errors = 0;
    for writer in writers {
        let outcome = writer.await.context("a writer task failed")?;
        latencies.extend(outcome.latencies);
        acks.extend(outcome.acks);
        errors += outcome.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let memory = server.memory();

    let (watch_delivery, missing) = if args.watchers > 0 {
        let last = acks.iter().map(|a| a.revision).max().unwrap_or(0);
        let mut received = Vec::new();
        for watcher in watchers {
            received.push(watcher);
        }
        let seen = collect_watchers(received, last).await;
        let (summary, missing) = delivery(&acks, &seen);
        (Some(summary), missing)
    } else {
        (None, 0)
    };

    Ok(Report {
        clients: args.clients,
        watchers: args.watchers,
        duration_s: elapsed,
        rate_target: args.rate,
        preload: args.preload,
        writes: latencies.len(),
        errors,
        writes_per_s: latencies.len() as f64 / elapsed,
        write_latency: LatencySummary::of(&mut latencies),
        watch_delivery,
        watch_events_missing: missing,
        apiserver_rss_bytes: memory.map(|m| m.0),
        apiserver_peak_rss_bytes: memory.map(|m| m.1),
    })
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kubelab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn pod(name: &str, generation: u64) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "bench", "round": generation.to_string()}},
        "spec": {"containers": [{"name": "app", "image": "kubelab/demo:latest", "ports": [{"containerPort": 8080}]}]}
    })
}

async fn create_namespace(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}});
    let response = http
        .post(format!("{base}/api/v1/namespaces"))
        .json(&body)
        .send()
        .await?;
    if !response.status().is_success() && response.status() != reqwest::StatusCode::CONFLICT {
        bail!(
            "creating namespace {NAMESPACE}: {} {}",
            response.status(),
            response.text().await?
        );
    }
    Ok(())
}

async fn preload(http: &reqwest::Client, base: &str, count: usize, clients: usize) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (http, base, next) = (http.clone(), base.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), anyhow::Error>(());
                }
                let url = format!("{base}/api/v1/namespaces/{NAMESPACE}/pods");
                let response = http.post(url).json(&pod(&format!("preload-{i}"), 0)).send().await?;
                if !response.status().is_success() {
                    bail!("preloading pod {i}: {} {}", response.status(), response.text().await?);
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn list_revision(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let url = format!("{base}/api/v1/namespaces/{NAMESPACE}/pods?limit=1");
    let list: serde_json::Value = http.get(url).send().await?.json().await?;
    list["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_string)
        .context("the pod list has no metadata.resourceVersion")
}

/// Waits (bounded) until the server counts the watchers as open, using its metrics.
async fn wait_for_watchers(http: &reqwest::Client, base: &str, expected: usize) {
    if expected == 0 {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/metrics")).send().await {
            if let Ok(text) = response.text().await {
                let open: f64 = text
                    .lines()
                    .filter(|l| l.starts_with("apiserver_registered_watchers"))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum();
                if open as usize >= expected {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct WriterOutcome {
    latencies: Vec<Duration>,
    acks: Vec<Ack>,
    errors: usize,
}

/// One client: create, update, delete its own pod, over and over, until the deadline.
async fn write_loop(
    http: reqwest::Client,
    base: String,
    client: usize,
    clients: usize,
    deadline: Instant,
    interval: Option<Duration>,
) -> WriterOutcome {
    let mut outcome = WriterOutcome {
        latencies: Vec::new(),
        acks: Vec::new(),
        errors: 0,
    };
    // Clients start their ticks spread evenly over one interval, so a fixed total rate arrives
    // as a steady stream rather than in bursts of one request per client.
    let mut ticker = interval.map(|every| {
        let offset = every.mul_f64(client as f64 / clients as f64);
        let mut t = tokio::time::interval_at(Instant::now() + offset, every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        t
    });
    let collection = format!("{base}/api/v1/namespaces/{NAMESPACE}/pods");
    let mut round: u64 = 0;
    'rounds: while Instant::now() < deadline {
        round += 1;
        let name = format!("c{client}-{round}");
        let item = format!("{collection}/{name}");
        let mut body = pod(&name, round);
        for step in 0..3 {
            if let Some(t) = ticker.as_mut() {
                t.tick().await;
            }
            if Instant::now() >= deadline {
                break 'rounds;
            }
            let sent = Instant::now();
            let request = match step {
                0 => http.post(&collection).json(&body),
                1 => {
                    body["metadata"]["labels"]["updated"] = json!("true");
                    http.put(&item).json(&body)
                }
                _ => http.delete(&item),
            };
            let response = match request.send().await {
                Ok(r) => r,
                Err(_) => {
                    outcome.errors += 1;
                    continue 'rounds;
                }
            };
            let ok = response.status().is_success();
            let bytes = response.bytes().await.unwrap_or_default();
            let at = Instant::now();
            if !ok {
                outcome.errors += 1;
                continue 'rounds;
            }
            outcome.latencies.push(at - sent);
            if let Some(revision) = revision_in(&bytes) {
                outcome.acks.push(Ack { at, revision });
                if step == 0 {
                    body["metadata"]["resourceVersion"] = json!(revision.to_string());
                }
            }
        }
    }
    outcome
}

/// The first `"resourceVersion":"N"` in a JSON text: the object's own (pods carry no other).
fn revision_in(bytes: &[u8]) -> Option<u64> {
    const NEEDLE: &[u8] = b"\"resourceVersion\":\"";
    let start = bytes.windows(NEEDLE.len()).position(|w| w == NEEDLE)? + NEEDLE.len();
    let digits = bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&bytes[start..start + digits]).ok()?.parse().ok()
}

/// A watcher: every event's revision and the moment it arrived.
type Seen = Arc<Mutex<HashMap<u64, Instant>>>;

async fn watch_pods(http: reqwest::Client, base: String, from: String) -> Seen {
    let seen: Seen = Arc::default();
    let url = format!("{base}/api/v1/namespaces/{NAMESPACE}/pods?watch=true&resourceVersion={from}");
    let record = seen.clone();
    tokio::spawn(async move {
        let Ok(response) = http.get(url).send().await else {
            return;
        };
        let mut stream = response.bytes_stream();
        let mut pending: Vec<u8> = Vec::new();
        while let Some(Ok(chunk)) = stream.next().await {
            let at = Instant::now();
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                if let Some(revision) = revision_in(&line) {
                    record.lock().await.insert(revision, at);
                }
            }
        }
    });
    seen
}

/// Waits (at most 10 s) until every watcher has seen the last revision, then hands back what
/// each saw.
async fn collect_watchers(watchers: Vec<tokio::task::JoinHandle<Seen>>, last: u64) -> Vec<HashMap<u64, Instant>> {
    let mut all = Vec::new();
    for watcher in watchers {
        if let Ok(seen) = watcher.await {
            all.push(seen);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for seen in &all {
        while Instant::now() < deadline && !seen.lock().await.contains_key(&last) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let mut out = Vec::new();
    for seen in all {
        out.push(seen.lock().await.clone());
    }
    out
}

/// Delivery latency of each acknowledged write: until the last watcher had it.
fn delivery(acks: &[Ack], seen: &[HashMap<u64, Instant>]) -> (LatencySummary, usize) {
    let mut samples = Vec::with_capacity(acks.len());
    let mut missing = 0;
    for ack in acks {
        let mut latest = Some(ack.at);
        for watcher in seen {
            match (watcher.get(&ack.revision), latest) {
                (Some(at), Some(l)) => latest = Some(l.max(*at)),
                _ => latest = None,
            }
        }
        match latest {
            Some(at) => samples.push(at - ack.at),
            None => missing += 1,
        }
    }
    (LatencySummary::of(&mut samples), missing)
}

fn print_text(r: &Report) {
    println!("kubelab bench apiserver");
    println!(
        "  clients {}  watchers {}  preload {}  rate {}",
        r.clients,
        r.watchers,
        r.preload,
        r.rate_target.map_or("unlimited".to_string(), |x| format!("{x}/s"))
    );
    println!(
        "  writes        {} in {:.1} s ({} errors)",
        r.writes, r.duration_s, r.errors
    );
    println!("  writes/s      {:.0}", r.writes_per_s);
    println!(
        "  write latency p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        r.write_latency.p50_ms, r.write_latency.p99_ms, r.write_latency.max_ms
    );
    if let Some(d) = &r.watch_delivery {
        println!(
            "  watch delivery p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} writes, {} missing)",
            d.p50_ms, d.p99_ms, d.max_ms, d.count, r.watch_events_missing
        );
    }
    if let (Some(rss), Some(peak)) = (r.apiserver_rss_bytes, r.apiserver_peak_rss_bytes) {
        println!(
            "  apiserver RSS {:.1} MB (peak {:.1} MB)",
            rss as f64 / 1e6,
            peak as f64 / 1e6
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_object_revision() {
        let line = br#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1234"}}}"#;
        assert_eq!(revision_in(line), Some(1234));
        assert_eq!(revision_in(b"{}"), None);
    }
}

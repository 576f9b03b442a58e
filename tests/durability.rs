//! Durability, end to end: a real `kubelab-apiserver` process is killed with SIGKILL in the middle
//! of a write load, then started again on the same data directory. Every write it acknowledged
//! must still be there, and the revision must never go back (the next write gets a higher
//! revision than any acknowledged before the crash).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{get_json, Apiserver};
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Apiserver::start(data.path()).await;
    let http = reqwest::Client::new();
    let base = server.base_url();

    // Writers keep creating ConfigMaps; each acknowledged one is recorded with its revision.
    let acked: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (http, base, acked) = (http.clone(), base.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{w}-{i}");
                let body =
                    json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name},"data":{"i":i.to_string()}});
                let Ok(response) = http
                    .post(format!("{base}/api/v1/namespaces/default/configmaps"))
                    .json(&body)
                    .send()
                    .await
                else {
                    return; // the server is gone
                };
                if !response.status().is_success() {
                    return;
                }
                let Ok(object) = response.json::<serde_json::Value>().await else {
                    return;
                };
                let rv = object["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                acked.lock().await.insert(name, rv);
            }
        }));
    }

    // Kill the server once a good number of writes has been acknowledged (bounded wait).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acked.lock().await.len() < 300 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server acknowledged too few writes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill_9();
    for writer in writers {
        let _ = writer.await;
    }
    let acked = acked.lock().await.clone();
    let max_acked = acked.values().copied().max().unwrap_or(0);

    // Restart on the same data: everything acknowledged is there.
    let server = Apiserver::start(data.path()).await;
    let base = server.base_url();
    let list = get_json(&http, &format!("{base}/api/v1/namespaces/default/configmaps")).await;
    let stored: BTreeMap<String, u64> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let name = item["metadata"]["name"].as_str().unwrap_or_default().to_string();
            let rv = item["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (name, rv)
        })
        .collect();
    for (name, rv) in &acked {
        assert_eq!(
            stored.get(name),
            Some(rv),
            "acknowledged write {name} at revision {rv} was lost"
        );
    }

    // The revision never goes back.
    let list_rv: u64 = list["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    assert!(
        list_rv >= max_acked,
        "list revision {list_rv} is behind acknowledged revision {max_acked}"
    );
    let body = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after-restart"}});
    let created: serde_json::Value = http
        .post(format!("{base}/api/v1/namespaces/default/configmaps"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rv: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv > max_acked, "revision went back: {rv} after {max_acked}");
    server.stop().await;
}

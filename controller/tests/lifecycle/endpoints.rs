//! The Endpoints controller against a real API server: Endpoints follow pods as they get IPs,
//! become ready, lose readiness and go away; selector-less Services are left to their users.

use std::sync::Arc;
use std::time::Duration;

use kubelab_api::core::{Endpoints, Pod, Service};
use kubelab_client::{Api, Client, DeleteParams, Patch, SharedInformers};
use kubelab_controller::endpoints::{self, EndpointsConfig};
use serde_json::json;

use crate::common::*;

const LIMIT: Duration = Duration::from_secs(20);

fn pods(client: &Client) -> Api<Pod> {
    Api::namespaced(client.clone(), "default")
}

fn services(client: &Client) -> Api<Service> {
    Api::namespaced(client.clone(), "default")
}

fn endpoints_api(client: &Client) -> Api<Endpoints> {
    Api::namespaced(client.clone(), "default")
}

async fn create_pod(client: &Client, name: &str, port_name: &str) {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "demo",
            "ports": [{"name": port_name, "containerPort": 8080}]}]},
    }))
    .unwrap();
    pods(client).create(&pod).await.expect("create pod");
}

/// Reports the pod running at `ip`, Ready or not, through the status subresource (what the
/// node agent does).
async fn report(client: &Client, name: &str, ip: &str, ready: bool) {
    let status = if ready { "True" } else { "False" };
    pods(client)
        .patch_status(
            name,
            &Patch::Merge(json!({"status": {"phase": "Running", "podIP": ip,
                "conditions": [{"type": "Ready", "status": status}]}})),
        )
        .await
        .expect("patch status");
}

/// (ready IPs, not-ready IPs, ports) of the Endpoints `name`, if it exists.
async fn observed(client: &Client, name: &str) -> Option<(Vec<String>, Vec<String>, Vec<i32>)> {
    let ep = endpoints_api(client).get_opt(name).await.ok()??;
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    let mut ports = Vec::new();
    for subset in &ep.subsets {
        ready.extend(subset.addresses.iter().map(|a| a.ip.clone()));
        not_ready.extend(subset.not_ready_addresses.iter().map(|a| a.ip.clone()));
        ports.extend(subset.ports.iter().map(|p| p.port));
    }
    Some((ready, not_ready, ports))
}

async fn wait_for(client: &Client, what: &str, ready: &[&str], not_ready: &[&str]) {
    eventually(what, LIMIT, || async {
        let (r, n, _) = observed(client, "web").await?;
        (r == ready && n == not_ready).then_some(())
    })
    .await;
}

#[tokio::test]
async fn endpoints_follow_pods_and_their_readiness() {
    let server = start().await;
    let client = &server.client;
    // A selector-less Service with hand-written Endpoints, there before the controller starts.
    let manual: Service = serde_json::from_value(json!({
        "metadata": {"name": "manual"}, "spec": {"ports": [{"port": 5432}]}}))
    .unwrap();
    services(client).create(&manual).await.expect("manual service");
    let hand_written: Endpoints = serde_json::from_value(json!({
        "metadata": {"name": "manual"},
        "subsets": [{"addresses": [{"ip": "192.168.1.50"}], "ports": [{"port": 5432}]}]}))
    .unwrap();
    let hand_written = endpoints_api(client)
        .create(&hand_written)
        .await
        .expect("manual endpoints");

    let controller = {
        let client = client.clone();
        let shared = Arc::new(SharedInformers::new(client.clone()));
        Running::spawn(move |stop| endpoints::run(client, EndpointsConfig::default(), stop, shared))
    };
    let web: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"tier": "front"}},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}))
    .unwrap();
    services(client).create(&web).await.expect("web service");
    eventually("empty endpoints for web", LIMIT, || async {
        let ep = endpoints_api(client).get_opt("web").await.ok()??;
        (ep.subsets.is_empty() && ep.metadata.labels.get("tier").map(String::as_str) == Some("front")).then_some(())
    })
    .await;

    create_pod(client, "a", "http").await;
    create_pod(client, "b", "http").await;
    create_pod(client, "no-port", "metrics").await;
    report(client, "a", "10.0.0.1", false).await;
    report(client, "b", "10.0.0.2", false).await;
    report(client, "no-port", "10.0.0.3", true).await;
    wait_for(client, "a and b not ready", &[], &["10.0.0.1", "10.0.0.2"]).await;
    let (_, _, ports) = observed(client, "web").await.unwrap();
    assert_eq!(ports, [8080], "the named target port resolved to the container port");

    report(client, "a", "10.0.0.1", true).await;
    wait_for(client, "a ready", &["10.0.0.1"], &["10.0.0.2"]).await;
    report(client, "b", "10.0.0.2", true).await;
    wait_for(client, "both ready", &["10.0.0.1", "10.0.0.2"], &[]).await;
    report(client, "a", "10.0.0.1", false).await;
    wait_for(client, "a not ready again", &["10.0.0.2"], &["10.0.0.1"]).await;

    let ep = endpoints_api(client).get("web").await.unwrap();
    let address = &ep.subsets[0].addresses[0];
    assert_eq!(address.node_name.as_deref(), Some("node-1"));
    let target = address.target_ref.as_ref().expect("targetRef");
    assert_eq!(
        (target.kind.as_deref(), target.name.as_deref()),
        (Some("Pod"), Some("b"))
    );
    assert!(target.uid.is_some());

    pods(client)
        .delete(
            "b",
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .await
        .expect("delete b");
    wait_for(client, "b gone", &[], &["10.0.0.1"]).await;

    // The hand-written Endpoints were never touched, and no Endpoints appeared for a
    // selector-less Service without them.
    let manual_now = endpoints_api(client).get("manual").await.unwrap();
    assert_eq!(
        manual_now.metadata.resource_version,
        hand_written.metadata.resource_version
    );

    services(client)
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete web");
    eventually("web's endpoints deleted", LIMIT, || async {
        endpoints_api(client)
            .get_opt("web")
            .await
            .ok()
            .and_then(|ep| ep.is_none().then_some(()))
    })
    .await;
    assert!(endpoints_api(client).get_opt("manual").await.unwrap().is_some());
    controller.stop().await;
}

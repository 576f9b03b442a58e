//! Services: ClusterIP and NodePort allocation through the API, and the `kubernetes` Service.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::allocator::bootstrap::ensure_kubernetes_service;
use crate::allocator::ServiceRanges;

const SERVICES: &str = "/api/v1/namespaces/default/services";

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

fn web(name: &str) -> Value {
    service(name, json!({"selector": {"app": name}, "ports": [{"port": 80}]}))
}

async fn fixture(cidr: &str, ports: &str) -> Fixture {
    let mut f = Fixture::new().await;
    f.state = f.state.clone().with_service_ranges(ServiceRanges {
        cluster_ips: cidr.parse().unwrap(),
        node_ports: ports.parse().unwrap(),
    });
    f
}

fn cluster_ip(object: &Value) -> String {
    object["spec"]["clusterIP"].as_str().expect("clusterIP").to_string()
}

fn node_port(object: &Value, i: usize) -> u64 {
    object["spec"]["ports"][i]["nodePort"].as_u64().expect("nodePort")
}

#[tokio::test]
async fn services_get_an_ip_from_the_range_and_kubernetes_defaults() {
    let f = fixture("10.96.0.0/16", "30000-32767").await;
    let created = f.create(SERVICES, &web("web")).await;
    let ip: std::net::Ipv4Addr = cluster_ip(&created).parse().unwrap();
    assert!(ip.octets()[..2] == [10, 96], "{ip}");
    let spec = &created["spec"];
    assert_eq!(spec["clusterIPs"], json!([ip.to_string()]));
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );

    let headless = f
        .create(
            SERVICES,
            &service("db", json!({"clusterIP": "None", "selector": {"app": "db"}})),
        )
        .await;
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
}

#[tokio::test]
async fn a_small_range_runs_out_says_so_and_a_delete_frees_its_ip() {
    let f = fixture("10.0.0.0/29", "30000-32767").await;
    let mut ips = HashSet::new();
    for i in 0..6 {
        let created = f.create(SERVICES, &web(&format!("s{i}"))).await;
        assert!(ips.insert(cluster_ip(&created)), "an IP was handed out twice: {ips:?}");
    }
    // .1 to .6: never the network (.0) nor the broadcast (.7) address.
    let expected: HashSet<String> = (1..=6).map(|i| format!("10.0.0.{i}")).collect();
    assert_eq!(ips, expected);

    let full = f.post(SERVICES, &web("s6")).await;
    full.assert_status(500, "InternalError");
    assert_eq!(
        full.json["message"],
        "Internal error occurred: failed to allocate a serviceIP: range is full"
    );
    assert_eq!(f.get(&format!("{SERVICES}/s6")).await.status, StatusCode::NOT_FOUND);

    let freed = cluster_ip(&f.get(&format!("{SERVICES}/s3")).await.json);
    assert_eq!(f.delete(&format!("{SERVICES}/s3")).await.status, StatusCode::OK);
    let again = f.create(SERVICES, &web("s6")).await;
    assert_eq!(cluster_ip(&again), freed);
}

#[tokio::test]
async fn explicit_ips_are_honoured_when_free_and_refused_in_kubernetes_words() {
    let f = fixture("10.96.0.0/24", "30000-32767").await;
    let mut dns = web("dns");
    dns["spec"]["clusterIP"] = json!("10.96.0.10");
    let created = f.create(SERVICES, &dns).await;
    assert_eq!(cluster_ip(&created), "10.96.0.10");

    let mut again = web("dns2");
    again["spec"]["clusterIP"] = json!("10.96.0.10");
    let taken = f.post(SERVICES, &again).await;
    taken.assert_status(422, "Invalid");
    assert_eq!(
        taken.json["message"],
        "Service \"dns2\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.10\"}: \
         failed to allocate IP 10.96.0.10: provided IP is already allocated"
    );
    assert_eq!(taken.json["details"]["causes"][0]["field"], "spec.clusterIPs");

    let mut outside = web("far");
    outside["spec"]["clusterIP"] = json!("10.97.0.1");
    let refused = f.post(SERVICES, &outside).await;
    refused.assert_status(422, "Invalid");
    let message = refused.json["message"].as_str().unwrap();
    assert!(
        message.ends_with(
            "failed to allocate IP 10.97.0.1: the provided IP (10.97.0.1) is not in the valid range. \
             The range of valid IPs is 10.96.0.0/24"
        ),
        "{message}"
    );

    // A dry run checks but takes nothing.
    let mut dry = web("dry");
    dry["spec"]["clusterIP"] = json!("10.96.0.20");
    let reply = f.post(&format!("{SERVICES}?dryRun=All"), &dry).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(cluster_ip(&reply.json), "10.96.0.20");
    let real = f.create(SERVICES, &dry).await;
    assert_eq!(cluster_ip(&real), "10.96.0.20");
}

#[tokio::test]
async fn the_ip_survives_updates_that_leave_it_out_and_cannot_change() {
    let f = fixture("10.96.0.0/24", "30000-32767").await;
    let created = f.create(SERVICES, &web("web")).await;
    let ip = cluster_ip(&created);
    let url = format!("{SERVICES}/web");

    // A PUT of the manifest as written (no clusterIP) keeps the IP, and is not even a change.
    let put = f.put(&url, &web("web")).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(cluster_ip(&put.json), ip);
    assert_eq!(rv(&put.json), rv(&created), "nothing changed, nothing written");

    let mut moved = web("web");
    moved["spec"]["clusterIP"] = json!("10.96.0.99");
    let refused = f.put(&url, &moved).await;
    refused.assert_status(422, "Invalid");
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .contains("spec.clusterIPs[0]: Invalid value: \"10.96.0.99\": may not change once set"),
        "{}",
        refused.text
    );

    // Labels by merge patch and server-side apply leave the allocation alone.
    let patched = f
        .patch(
            &url,
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"tier": "front"}}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(cluster_ip(&patched.json), ip);
    let applied = f
        .patch(
            &format!("{url}?fieldManager=test"),
            "application/apply-patch+yaml",
            &web("web"),
        )
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.text);
    assert_eq!(cluster_ip(&applied.json), ip);
}

#[tokio::test]
async fn node_ports_are_allocated_kept_checked_and_released_with_the_type() {
    let f = fixture("10.96.0.0/24", "31000-31009").await;
    let mut np = service(
        "np",
        json!({"type": "NodePort", "selector": {"app": "np"},
        "ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 81, "nodePort": 31005}]}),
    );
    let created = f.create(SERVICES, &np).await;
    let first = node_port(&created, 0);
    assert!((31000..=31009).contains(&first) && first != 31005, "{first}");
    assert_eq!(node_port(&created, 1), 31005);

    let mut clash = service(
        "clash",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 31005}]}),
    );
    let refused = f.post(SERVICES, &clash).await;
    refused.assert_status(422, "Invalid");
    assert_eq!(
        refused.json["message"],
        "Service \"clash\" is invalid: spec.ports[0].nodePort: Invalid value: 31005: provided port is already allocated"
    );
    clash["spec"]["ports"][0]["nodePort"] = json!(30080);
    let outside = f.post(SERVICES, &clash).await;
    outside.assert_status(422, "Invalid");
    assert!(outside.json["message"]
        .as_str()
        .unwrap()
        .ends_with("provided port is not in the valid range. The range of valid ports is 31000-31009"));

    // An update without the node ports keeps them.
    let url = format!("{SERVICES}/np");
    np["spec"]["ports"][1].as_object_mut().unwrap().remove("nodePort");
    let put = f.put(&url, &np).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!((node_port(&put.json, 0), node_port(&put.json, 1)), (first, 31005));

    // Back to ClusterIP: the node ports are dropped, and free for someone else.
    let mut plain = np.clone();
    plain["spec"]["type"] = json!("ClusterIP");
    let downgraded = f.put(&url, &plain).await;
    assert_eq!(downgraded.status, StatusCode::OK, "{}", downgraded.text);
    assert!(downgraded.json["spec"]["ports"][1].get("nodePort").is_none());
    clash["spec"]["ports"][0]["nodePort"] = json!(31005);
    f.create(SERVICES, &clash).await;

    // And to NodePort again by a patch: new node ports are allocated.
    let upgraded = f
        .patch(
            &url,
            "application/merge-patch+json",
            &json!({"spec": {"type": "NodePort"}}),
        )
        .await;
    assert_eq!(upgraded.status, StatusCode::OK, "{}", upgraded.text);
    assert_ne!(node_port(&upgraded.json, 1), 31005);
}

#[tokio::test]
async fn concurrent_creates_never_share_an_ip() {
    let f = fixture("10.0.0.0/27", "30000-32767").await;
    let app = f.app();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri(SERVICES)
                .header("content-type", "application/json")
                .body(Body::from(web(&format!("c{i}")).to_string()))
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let object: Value = serde_json::from_slice(&bytes).unwrap();
            cluster_ip(&object)
        }));
    }
    let mut ips = HashSet::new();
    for task in tasks {
        assert!(ips.insert(task.await.unwrap()), "an IP was handed out twice");
    }
    assert_eq!(ips.len(), 30);
}

#[tokio::test]
async fn the_kubernetes_service_has_the_first_ip_and_the_advertised_endpoint() {
    let f = fixture("10.130.24.0/21", "30000-32767").await;
    let gateway = "10.130.16.1".parse().unwrap();
    ensure_kubernetes_service(&f.state, 6443, Some(gateway)).await.unwrap();
    let svc = f.get(&format!("{SERVICES}/kubernetes")).await.json;
    assert_eq!(cluster_ip(&svc), "10.130.24.1");
    assert_eq!(
        svc["spec"]["ports"],
        json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}])
    );
    assert!(svc["spec"].get("selector").is_none());
    let ep = f.get("/api/v1/namespaces/default/endpoints/kubernetes").await.json;
    assert_eq!(
        ep["subsets"],
        json!([{"addresses": [{"ip": "10.130.16.1"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}])
    );
    // Again, unchanged: nothing is written.
    let revision = f.store.current_revision();
    ensure_kubernetes_service(&f.state, 6443, Some(gateway)).await.unwrap();
    assert_eq!(f.store.current_revision(), revision);
    // A new port is corrected; no address any more removes the Endpoints.
    ensure_kubernetes_service(&f.state, 7000, None).await.unwrap();
    let svc = f.get(&format!("{SERVICES}/kubernetes")).await.json;
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 7000);
    assert_eq!(cluster_ip(&svc), "10.130.24.1");
    let gone = f.get("/api/v1/namespaces/default/endpoints/kubernetes").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

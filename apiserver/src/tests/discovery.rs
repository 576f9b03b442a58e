use axum::http::StatusCode;
use serde_json::{json, Value};

use super::*;

fn resource<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test]
async fn discovery_documents() {
    let f = Fixture::new().await;
    let api = f.get("/api").await;
    assert_eq!(api.json["kind"], "APIVersions");
    assert_eq!(api.json["versions"], json!(["v1"]));
    assert_eq!(api.json["serverAddressByClientCIDRs"][0]["clientCIDR"], "0.0.0.0/0");
    let apis = f.get("/apis").await.json;
    assert_eq!(apis["kind"], "APIGroupList");
    let groups: Vec<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"apps") && groups.contains(&"coordination.k8s.io"),
        "{apis}"
    );
    assert_eq!(apis["groups"][0]["preferredVersion"]["groupVersion"], "apps/v1");
    let core = f.get("/api/v1").await.json;
    assert_eq!(core["groupVersion"], "v1");
    let pods = resource(&core, "pods");
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert!(pods["verbs"].as_array().unwrap().contains(&json!("watch")));
    assert_eq!(resource(&core, "pods/binding")["kind"], "Binding");
    assert_eq!(resource(&core, "nodes")["namespaced"], false);
    for (name, short) in [
        ("services", "svc"),
        ("configmaps", "cm"),
        ("namespaces", "ns"),
        ("nodes", "no"),
    ] {
        assert!(
            resource(&core, name)["shortNames"]
                .as_array()
                .unwrap()
                .contains(&json!(short)),
            "{name}"
        );
    }
    let apps = f.get("/apis/apps/v1").await.json;
    assert_eq!(apps["groupVersion"], "apps/v1");
    assert_eq!(resource(&apps, "deployments")["shortNames"], json!(["deploy"]));
    let scale = resource(&apps, "deployments/scale");
    assert_eq!(
        (
            scale["group"].as_str(),
            scale["version"].as_str(),
            scale["kind"].as_str()
        ),
        (Some("autoscaling"), Some("v1"), Some("Scale"))
    );
    f.get("/apis/nope/v1").await.assert_status(404, "NotFound");
    assert_eq!(f.get("/apis/apps").await.json["kind"], "APIGroup");
}

#[tokio::test]
async fn version_health_openapi_and_metrics() {
    let f = Fixture::new().await;
    let version = f.get("/version").await.json;
    assert_eq!(
        (version["major"].as_str(), version["minor"].as_str()),
        (Some("1"), Some("32"))
    );
    for path in ["/healthz", "/livez", "/readyz"] {
        let reply = f.get(path).await;
        assert_eq!((reply.status, reply.text.as_str()), (StatusCode::OK, "ok"), "{path}");
    }
    f.get("/openapi/v2").await.assert_status(404, "NotFound");
    let index = f.get("/openapi/v3").await.json;
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("apps/v1 document")
        .to_string();
    let doc = f.get(&url).await.json;
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
    let core = f.get("/openapi/v3/api/v1").await.json;
    assert!(core["paths"].get("/api/v1/nodes/{name}").is_some(), "{core}");
    f.get("/openapi/v3/apis/nope/v1").await.assert_status(404, "NotFound");
    f.get(PODS).await;
    f.get(&format!("{PODS}/missing")).await;
    let metrics = f.get("/metrics").await.text;
    assert!(
        metrics.contains("apiserver_request_total{verb=\"list\",resource=\"pods\",code=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("apiserver_request_total{verb=\"get\",resource=\"pods\",code=\"404\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("apiserver_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("kubelab_store_revision "), "{metrics}");
    assert!(metrics.contains("kubelab_store_objects 3"), "{metrics}");
}

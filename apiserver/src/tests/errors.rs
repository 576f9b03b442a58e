//! Bad input gets a clear 4xx Status, and nothing stored changes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::*;

/// Runs a request that must fail with `code`/`reason` and asserts the store did not move.
async fn refused(
    f: &Fixture,
    method: Method,
    uri: &str,
    body: Option<&str>,
    ct: Option<&str>,
    code: u16,
    reason: &str,
) -> Reply {
    let before = f.store.current_revision();
    let reply = f.send(method, uri, body, ct).await;
    reply.assert_status(code, reason);
    assert_eq!(
        f.store.current_revision(),
        before,
        "a refused request wrote something: {}",
        reply.text
    );
    reply
}

#[tokio::test]
async fn unknown_resources_and_methods() {
    let f = Fixture::new().await;
    refused(
        &f,
        Method::GET,
        "/api/v1/namespaces/default/widgets",
        None,
        None,
        404,
        "NotFound",
    )
    .await;
    refused(&f, Method::GET, "/apis/nope/v1/things", None, None, 404, "NotFound").await;
    refused(&f, Method::GET, "/nothing/here", None, None, 404, "NotFound").await;
    refused(
        &f,
        Method::GET,
        "/api/v1/namespaces/default/pods/web/frobnicate",
        None,
        None,
        404,
        "NotFound",
    )
    .await;
    let body = pod("web", json!({})).to_string();
    refused(
        &f,
        Method::POST,
        &format!("{PODS}/web"),
        Some(&body),
        None,
        405,
        "MethodNotAllowed",
    )
    .await;
    refused(
        &f,
        Method::POST,
        "/api/v1/pods",
        Some(&body),
        None,
        405,
        "MethodNotAllowed",
    )
    .await;
    refused(&f, Method::PUT, PODS, Some(&body), None, 405, "MethodNotAllowed").await;
    refused(&f, Method::POST, "/api/v1", Some("{}"), None, 405, "MethodNotAllowed").await;
}

#[tokio::test]
async fn bodies_that_do_not_parse_are_bad_requests() {
    let f = Fixture::new().await;
    refused(
        &f,
        Method::POST,
        PODS,
        Some("{\"kind\": "),
        Some("application/json"),
        400,
        "BadRequest",
    )
    .await;
    refused(
        &f,
        Method::POST,
        PODS,
        Some("kind: [unclosed\n  - x"),
        Some("application/yaml"),
        400,
        "BadRequest",
    )
    .await;
    refused(&f, Method::POST, PODS, Some("[1, 2]"), None, 400, "BadRequest").await;
    refused(&f, Method::POST, PODS, Some(""), None, 400, "BadRequest").await;
    // Wrong types: a number where a string goes.
    let wrong_type = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 5}}).to_string();
    refused(&f, Method::POST, PODS, Some(&wrong_type), None, 400, "BadRequest").await;
    // A kind that is not the URL's.
    let wrong_kind = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}).to_string();
    refused(&f, Method::POST, PODS, Some(&wrong_kind), None, 400, "BadRequest").await;
    refused(
        &f,
        Method::POST,
        &format!("{PODS}?fieldValidation=Loose"),
        Some(&pod("x", json!({})).to_string()),
        None,
        400,
        "BadRequest",
    )
    .await;
}

#[tokio::test]
async fn unknown_fields_strict_ignore_and_warn() {
    let f = Fixture::new().await;
    let mut body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "b"}});
    body["metadata"]["labelz"] = json!({"x": "y"});
    let text = body.to_string();
    let uri = "/api/v1/namespaces/default/configmaps";
    let reply = refused(&f, Method::POST, uri, Some(&text), None, 400, "BadRequest").await;
    assert!(
        reply.json["message"]
            .as_str()
            .unwrap()
            .contains("unknown field \"metadata.labelz\""),
        "{}",
        reply.text
    );
    let reply = f
        .send(Method::POST, &format!("{uri}?fieldValidation=Warn"), Some(&text), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.headers["warning"],
        "299 - \"unknown field \\\"metadata.labelz\\\"\""
    );
    assert!(reply.json["metadata"].get("labelz").is_none());
    body["metadata"]["name"] = json!("cfg2");
    let reply = f
        .send(
            Method::POST,
            &format!("{uri}?fieldValidation=Ignore"),
            Some(&body.to_string()),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert!(reply.headers.get("warning").is_none());
}

#[tokio::test]
async fn invalid_objects_are_422_with_causes() {
    let f = Fixture::new().await;
    let body = pod("Not_A_Valid_Name", json!({})).to_string();
    let reply = refused(&f, Method::POST, PODS, Some(&body), None, 422, "Invalid").await;
    assert!(
        reply.json["message"]
            .as_str()
            .unwrap()
            .starts_with("Pod \"Not_A_Valid_Name\" is invalid"),
        "{}",
        reply.text
    );
    let causes = reply.json["details"]["causes"].as_array().expect("causes");
    assert!(causes.iter().any(|c| c["field"] == "metadata.name"), "{}", reply.text);
    assert_eq!(reply.json["details"]["kind"], "Pod");
}

#[tokio::test]
async fn huge_bodies_are_413() {
    let mut f = Fixture::new().await;
    f.state = f.state.clone().with_max_body_bytes(200);
    let big = pod("web", json!({"padding": "x".repeat(500)})).to_string();
    refused(&f, Method::POST, PODS, Some(&big), None, 413, "RequestEntityTooLarge").await;
    let small = pod("web", json!({})).to_string();
    assert_eq!(
        f.send(Method::POST, PODS, Some(&small), None).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn patches_of_every_kind_against_missing_objects_are_404() {
    let f = Fixture::new().await;
    let uri = format!("{PODS}/ghost");
    let merge = json!({"metadata": {"labels": {"a": "b"}}}).to_string();
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some(&merge),
        Some("application/merge-patch+json"),
        404,
        "NotFound",
    )
    .await;
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some(&merge),
        Some("application/strategic-merge-patch+json"),
        404,
        "NotFound",
    )
    .await;
    let ops = json!([{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]).to_string();
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some(&ops),
        Some("application/json-patch+json"),
        404,
        "NotFound",
    )
    .await;
    refused(
        &f,
        Method::PATCH,
        &format!("{uri}/status"),
        Some(&merge),
        Some("application/merge-patch+json"),
        404,
        "NotFound",
    )
    .await;
    refused(
        &f,
        Method::PATCH,
        &format!("{DEPLOYMENTS}/ghost/scale"),
        Some(&merge),
        Some("application/merge-patch+json"),
        404,
        "NotFound",
    )
    .await;
    refused(&f, Method::DELETE, &uri, None, None, 404, "NotFound").await;
}

#[tokio::test]
async fn bad_patches_change_nothing() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("web", json!({"app": "web"}))).await;
    let uri = format!("{PODS}/web");
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some("{}"),
        Some("text/plain"),
        415,
        "UnsupportedMediaType",
    )
    .await;
    refused(&f, Method::PATCH, &uri, Some("{}"), None, 415, "UnsupportedMediaType").await;
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some("{not json"),
        Some("application/merge-patch+json"),
        400,
        "BadRequest",
    )
    .await;
    let test_fails = json!([{"op": "test", "path": "/metadata/name", "value": "other"}]).to_string();
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some(&test_fails),
        Some("application/json-patch+json"),
        422,
        "Invalid",
    )
    .await;
    let not_a_list = json!({"op": "add"}).to_string();
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some(&not_a_list),
        Some("application/json-patch+json"),
        400,
        "BadRequest",
    )
    .await;
    let wrong_type = json!({"metadata": {"labels": "not-a-map"}}).to_string();
    refused(
        &f,
        Method::PATCH,
        &uri,
        Some(&wrong_type),
        Some("application/merge-patch+json"),
        400,
        "BadRequest",
    )
    .await;
}

#[tokio::test]
async fn patches_apply_and_apply_upserts() {
    let f = Fixture::new().await;
    f.create(PODS, &pod("web", json!({"app": "web"}))).await;
    let uri = format!("{PODS}/web");
    let reply = f
        .patch(
            &uri,
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"tier": "front"}}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["labels"], json!({"app": "web", "tier": "front"}));
    let ops = json!([{"op": "remove", "path": "/metadata/labels/tier"}]);
    let reply = f.patch(&uri, "application/json-patch+json", &ops).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["labels"], json!({"app": "web"}));
    let smp = json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}});
    let reply = f.patch(&uri, "application/strategic-merge-patch+json", &smp).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(reply.json["metadata"]["generation"], 2);
    // Server-side apply creates (201), then updates (200).
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}});
    let cm_uri = "/api/v1/namespaces/default/configmaps/cfg?fieldManager=kubectl&force=false";
    let reply = f.patch(cm_uri, "application/apply-patch+yaml", &cm).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"2\"\n";
    let reply = f
        .send(Method::PATCH, cm_uri, Some(yaml), Some("application/apply-patch+yaml"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["data"]["a"], "2");
}

#[tokio::test]
async fn extreme_numbers_do_not_panic() {
    let f = Fixture::new().await;
    let mut bound = pod("web", json!({}));
    bound["spec"]["nodeName"] = json!("n1");
    f.create(PODS, &bound).await;
    let reply = f.delete(&format!("{PODS}/web?gracePeriodSeconds={}", i64::MAX)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let _watch = f.watch(&format!("{PODS}?watch=true&timeoutSeconds={}", i64::MAX)).await;
    f.get(&format!("{PODS}?limit={}", i64::MAX)).await;
    f.get(&format!("{PODS}?limit=99999999999999999999999"))
        .await
        .assert_status(400, "BadRequest");
}

/// kubectl's generators (`create secret generic`) send protobuf: kubelab reads it for the kinds
/// they create (see `protobuf/tests.rs` for each), answers 415 naming the kind for others,
/// 400 for broken bytes, and 415 for CBOR, which it does not speak. Nothing refused is stored.
#[tokio::test]
async fn binary_bodies_are_read_or_refused_by_name() {
    let f = Fixture::new().await;
    let secrets = "/api/v1/namespaces/default/secrets";
    let protobuf = Some("application/vnd.kubernetes.protobuf");
    let reply = f.send(Method::POST, secrets, Some("k8s\u{0}\n\u{2}v1"), protobuf).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(
        reply.text.contains("error decoding the protobuf body"),
        "{}",
        reply.text
    );

    // runtime.Unknown{typeMeta{apiVersion "batch/v1", kind "Job"}}
    let job = "k8s\u{0}\n\u{f}\n\u{8}batch/v1\u{12}\u{3}Job";
    let reply = f.send(Method::POST, secrets, Some(job), protobuf).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", reply.text);
    assert_eq!(reply.json["reason"], "UnsupportedMediaType");
    assert!(reply.text.contains("\\\"Job\\\""), "{}", reply.text);

    let reply = f
        .send(
            Method::POST,
            secrets,
            Some("\u{a2}"),
            Some("application/cbor; charset=binary"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", reply.text);
    assert!(reply.text.contains("(not application/cbor)"), "{}", reply.text);

    let list = f.get(secrets).await;
    assert_eq!(list.json["items"], serde_json::json!([]), "nothing was stored");

    // A real `kubectl create secret generic s1 --from-literal=a=b ...` body is created.
    let hex = include_str!("../protobuf/testdata/kubectl-create-secret.hex").trim();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let reply = f.send_bytes(Method::POST, secrets, bytes, protobuf).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["name"], "s1");
    assert_eq!(reply.json["data"]["a"], "Yg==");
}

//! The agent's routes against the hollow runtime, without a socket.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::runtime::hollow::{HollowConfig, HollowRuntime};
use crate::runtime::{ContainerConfig, SandboxConfig};

/// A hollow node with pod `default/web`: container `app` (running) and `sidecar`.
async fn node_with_pod() -> Arc<HollowRuntime> {
    let runtime = Arc::new(HollowRuntime::new(HollowConfig::new("node-a", "test")));
    let sandbox = SandboxConfig {
        pod_uid: "uid-1".into(),
        namespace: "default".into(),
        pod_name: "web".into(),
        hostname: "web".into(),
        ..Default::default()
    };
    let sandbox_id = runtime.run_sandbox(&sandbox).await.unwrap();
    for name in ["app", "sidecar"] {
        let config = ContainerConfig {
            pod_uid: "uid-1".into(),
            namespace: "default".into(),
            pod_name: "web".into(),
            name: name.into(),
            image: "kubelab/demo:latest".into(),
            ..Default::default()
        };
        let id = runtime.create_container(&sandbox_id, &config).await.unwrap();
        runtime.start_container(&id).await.unwrap();
    }
    runtime
}

async fn call(runtime: Arc<HollowRuntime>, method: &str, uri: &str) -> (StatusCode, String) {
    let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
    let response = app(runtime).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn logs_of_a_container_with_tail() {
    let runtime = node_with_pod().await;
    let (status, body) = call(runtime.clone(), "GET", "/containerLogs/default/web/app").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(
        body.contains("hollow container app of pod default/web: line 1"),
        "{body}"
    );

    let (status, body) = call(runtime.clone(), "GET", "/containerLogs/default/web/sidecar?tailLines=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hollow container sidecar of pod default/web: line 3\n");
}

#[tokio::test]
async fn log_errors_are_plain_and_precise() {
    let runtime = node_with_pod().await;
    let (status, body) = call(runtime.clone(), "GET", "/containerLogs/default/web/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, "container \"nope\" in pod default/web is not available\n");

    let (status, body) = call(runtime.clone(), "GET", "/containerLogs/default/web/app?previous=true").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("previous terminated container \"app\""), "{body}");

    let (status, body) = call(runtime.clone(), "GET", "/containerLogs/default/web/app?tailLines=-3").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("tailLines"), "{body}");

    let (status, _) = call(runtime, "GET", "/containerLogs/default/web").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exec_answers_json_and_refuses_terminals() {
    let runtime = node_with_pod().await;
    let (status, body) = call(runtime.clone(), "POST", "/exec/default/web/app?command=ls&command=-l").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result: ExecResult = serde_json::from_str(&body).unwrap();
    assert_eq!(result.exit_code, 0);

    let (status, body) = call(runtime.clone(), "POST", "/exec/default/web/app?command=sh&tty=true").await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(body.contains("interactive exec"), "{body}");

    let (status, body) = call(runtime.clone(), "POST", "/exec/default/web/app").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("command"), "{body}");

    let (status, _) = call(runtime, "POST", "/exec/default/other/app?command=ls").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn query_keeps_repeats_and_decodes() {
    let q = parse_query(Some("command=echo&command=a+b%21&follow=true&"));
    assert_eq!(
        q,
        vec![
            ("command".to_string(), "echo".to_string()),
            ("command".to_string(), "a b!".to_string()),
            ("follow".to_string(), "true".to_string()),
        ]
    );
    let (options, previous) = log_options(&parse_query(Some("follow=1&tailLines=5&timestamps=True"))).unwrap();
    assert!(options.follow && options.timestamps && !previous);
    assert_eq!(options.tail_lines, Some(5));
    assert!(log_options(&parse_query(Some("follow=maybe"))).is_err());
}

#[test]
fn listens_on_loopback_only() {
    let local = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert_eq!(listen_addresses("127.0.0.1", 10250), vec![local("127.0.0.1:10250")]);
    assert_eq!(listen_addresses("10.128.0.1", 10250), vec![local("127.0.0.1:10250")]);
    assert_eq!(
        listen_addresses("127.0.0.2", 1),
        vec![local("127.0.0.1:1"), local("127.0.0.2:1")]
    );
}

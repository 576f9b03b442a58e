//! The ingress end to end without Docker: a real API server in-process, the ingress in-process,
//! and two tiny HTTP backends on 127.0.0.1 behind Services without selectors (their Endpoints are
//! written by hand, as for any Service whose endpoints are not pods).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kubelab_api::core::{Endpoints, Secret, Service};
use kubelab_api::networking::{Ingress, IngressClass};
use kubelab_apiserver::testing::InProcessApiserver;
use kubelab_client::{Api, Client, Config, Patch};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

/// A backend that answers `<name> host=<Host> path=<path> proto=<X-Forwarded-Proto> xff=<X-Forwarded-For>`.
async fn backend(name: &'static str) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| async move {
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let (host, proto, xff) = (header("host"), header("x-forwarded-proto"), header("x-forwarded-for"));
                    let path = req.uri().path().to_string();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let text = format!(
                        "{name} host={host} path={path} proto={proto} xff={xff} body={}",
                        String::from_utf8_lossy(&body)
                    );
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(text))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

/// One request over a fresh connection (plain or TLS); returns the status and body.
async fn send<S>(io: S, host: &str, path: &str, body: &str) -> (u16, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.unwrap();
    tokio::spawn(connection);
    let request = Request::builder()
        .method(if body.is_empty() { "GET" } else { "POST" })
        .uri(path)
        .header("host", host)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get(port: u16, host: &str, path: &str) -> (u16, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    send(stream, host, path, "").await
}

/// Polls `check` until it returns `Some`, failing after a deadline with the last observation.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() > deadline => panic!("{what}: still {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn expect(port: u16, host: &str, path: &str, status: u16, body_start: &str) {
    let what = format!("{host}{path} -> {status} {body_start}");
    eventually(&what, || async {
        let (got, body) = get(port, host, path).await;
        if got == status && body.starts_with(body_start) {
            Ok(())
        } else {
            Err(format!("{got} {body:?}"))
        }
    })
    .await
}

fn service(name: &str, ports: serde_json::Value) -> Service {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"ports": ports}})).unwrap()
}

fn endpoints(name: &str, addr: SocketAddr, port_name: Option<&str>) -> Endpoints {
    let mut port = json!({"port": addr.port()});
    if let Some(n) = port_name {
        port["name"] = json!(n);
    }
    serde_json::from_value(json!({"metadata": {"name": name},
        "subsets": [{"addresses": [{"ip": addr.ip().to_string()}], "ports": [port]}]}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_host_and_path_with_tls_status_and_endpoint_changes() {
    let server = InProcessApiserver::start().await.unwrap();
    let client = Client::new(Config::new(server.url.clone())).unwrap();
    let (a_addr, _a) = backend("A").await;
    let (b_addr, _b) = backend("B").await;

    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let eps: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    services
        .create(&service("web", json!([{"name": "http", "port": 80}])))
        .await
        .unwrap();
    services.create(&service("api", json!([{"port": 8080}]))).await.unwrap();
    services.create(&service("empty", json!([{"port": 80}]))).await.unwrap();
    eps.create(&endpoints("web", a_addr, Some("http"))).await.unwrap();
    eps.create(&endpoints("api", b_addr, None)).await.unwrap();

    // A certificate for secure.example.com, in a kubernetes.io/tls Secret.
    let cert = rcgen::generate_simple_self_signed(vec!["secure.example.com".to_string()]).unwrap();
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "secure-tls"}, "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(cert.cert.pem()), "tls.key": b64(cert.key_pair.serialize_pem())}}))
        .unwrap();
    Api::<Secret>::namespaced(client.clone(), "default")
        .create(&secret)
        .await
        .unwrap();

    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "default");
    let shop: Ingress = serde_json::from_value(json!({"metadata": {"name": "shop"}, "spec": {
        "tls": [{"hosts": ["secure.example.com"], "secretName": "secure-tls"}],
        "rules": [
            {"host": "web.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}},
            {"host": "*.example.com", "http": {"paths": [
                {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}},
            {"host": "secure.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
        ]}}))
    .unwrap();
    ingresses.create(&shop).await.unwrap();
    // Another controller's Ingress: ignored.
    let foreign: Ingress = serde_json::from_value(json!({"metadata": {"name": "foreign"}, "spec": {
        "ingressClassName": "nginx",
        "rules": [{"host": "foreign.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}))
    .unwrap();
    ingresses.create(&foreign).await.unwrap();

    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (http_port, https_port) = (http.local_addr().unwrap().port(), https.local_addr().unwrap().port());
    let config = kubelab_ingress::Config {
        apiserver: server.url.clone(),
        class: kubelab_ingress::DEFAULT_CLASS.into(),
        http: http.local_addr().unwrap(),
        https: Some(https.local_addr().unwrap()),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ingress = tokio::spawn(kubelab_ingress::serve(config, http, Some(https), async {
        let _ = stopped.await;
    }));

    // Host and path routing; the backend sees the original Host and X-Forwarded-*.
    expect(
        http_port,
        "web.example.com",
        "/anything",
        200,
        "A host=web.example.com path=/anything proto=http xff=127.0.0.1",
    )
    .await;
    expect(
        http_port,
        "shop.example.com:80",
        "/api/v1/items",
        200,
        "B host=shop.example.com:80 path=/api/v1/items",
    )
    .await;
    // The wildcard host has no "/" rule and there is no default backend: 404, with a reason.
    let (status, body) = get(http_port, "shop.example.com", "/apix").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("no Ingress rule matches host \"shop.example.com\""),
        "{body}"
    );
    let (status, _) = get(http_port, "foreign.example.com", "/").await;
    assert_eq!(status, 404, "an Ingress of another class is not served");
    // A body is streamed through to the backend.
    let stream = TcpStream::connect(("127.0.0.1", http_port)).await.unwrap();
    let (status, body) = send(stream, "web.example.com", "/post", "hello").await;
    assert_eq!((status, body.ends_with("body=hello")), (200, true), "{body}");

    // The IngressClass was made, as the default; the status shows where the Ingress is served.
    let class = Api::<IngressClass>::all(client.clone()).get("kubelab").await.unwrap();
    assert_eq!(class.spec.controller, "kubelab.io/ingress");
    assert!(kubelab_api::networking::is_default_class(&class));
    eventually("status written", || async {
        let shop = ingresses.get("shop").await.map_err(|e| e.to_string())?;
        let lb = shop.status.map(|s| s.load_balancer.ingress).unwrap_or_default();
        match lb.first() {
            Some(first) if first.ip.as_deref() == Some("127.0.0.1") => {
                let ports: Vec<i32> = first.ports.iter().map(|p| p.port).collect();
                assert_eq!(ports, [i32::from(http_port), i32::from(https_port)]);
                Ok(())
            }
            _ => Err(format!("{lb:?}")),
        }
    })
    .await;
    let foreign = ingresses.get("foreign").await.unwrap();
    assert!(
        foreign.status.is_none_or(|s| s.load_balancer.ingress.is_empty()),
        "not ours: no status"
    );

    // A default backend whose Service has no endpoints: unmatched requests get 503, with a reason.
    let fallback: Ingress = serde_json::from_value(json!({"metadata": {"name": "fallback"}, "spec": {
        "ingressClassName": "kubelab",
        "defaultBackend": {"service": {"name": "empty", "port": {"number": 80}}}}}))
    .unwrap();
    ingresses.create(&fallback).await.unwrap();
    expect(
        http_port,
        "nowhere.test",
        "/",
        503,
        "service \"default/empty\" has no ready endpoints for port 80",
    )
    .await;

    // TLS: the certificate is chosen by SNI; the backend is told the request came over https.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let (status, body) = eventually("https answers", || async {
        let tcp = TcpStream::connect(("127.0.0.1", https_port))
            .await
            .map_err(|e| e.to_string())?;
        let name = rustls::pki_types::ServerName::try_from("secure.example.com").unwrap();
        let stream = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
        Ok(send(stream, "secure.example.com", "/tls", "").await)
    })
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("A host=secure.example.com path=/tls proto=https"),
        "{body}"
    );

    // The route follows an Endpoints change: web now points at backend B.
    eps.patch(
        "web",
        &Patch::Merge(json!({"subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": b_addr.port()}]}]})),
    )
    .await
    .unwrap();
    expect(
        http_port,
        "web.example.com",
        "/moved",
        200,
        "B host=web.example.com path=/moved",
    )
    .await;
    // ... and a deleted Endpoints means no ready endpoints.
    eps.delete("web", &Default::default()).await.unwrap();
    expect(
        http_port,
        "web.example.com",
        "/",
        503,
        "service \"default/web\" has no ready endpoints for port http",
    )
    .await;

    let _ = stop.send(());
    ingress.await.unwrap().unwrap();
}

//! # `kubelab-demo web`: the app behind the labs on Services, probes and configuration
//!
//! `GET /` says which pod, namespace, node and IP answered, so a student sees a Service spread
//! requests over replicas. `GET /healthz` is the probe target; `POST /fail-health` makes it fail
//! (500) and `POST /recover` heals it, so a liveness-probe lab can watch the kubelet restart a
//! container, or a readiness lab watch an endpoint leave a Service. `GET /env` and `GET /headers`
//! show what ConfigMaps, Secrets and proxies put in front of the app.
//!
//! With `DB_URL` set (the offline twin of the classic "web app + database" example), `GET /`
//! also counts visits in the [`kv`](super::kv) store at that URL, logging in with `DB_USER` and
//! `DB_PASSWORD`, so the count survives the web pods and, thanks to a volume, the database pod.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;

use super::net::PodInfo;

/// Flags of `kubelab-demo web`.
#[derive(Debug, clap::Args)]
pub struct WebArgs {
    /// The port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on (all of the container's addresses by default).
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind: String,
}

/// Where the visit counter lives, from `DB_URL`, `DB_USER`, `DB_PASSWORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    pub url: String,
    pub user: String,
    pub password: String,
}

impl DbConfig {
    /// `None` when `DB_URL` is unset or empty: the app then counts nothing.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let url = var("DB_URL").filter(|u| !u.is_empty())?;
        Some(DbConfig {
            url: url.trim_end_matches('/').to_string(),
            user: var("DB_USER").unwrap_or_default(),
            password: var("DB_PASSWORD").unwrap_or_default(),
        })
    }
}

/// What the handlers share.
pub struct WebState {
    pub info: PodInfo,
    pub healthy: AtomicBool,
    pub db: Option<DbConfig>,
    pub client: reqwest::Client,
}

impl WebState {
    pub fn new(info: PodInfo, db: Option<DbConfig>) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Arc::new(WebState {
            info,
            healthy: AtomicBool::new(true),
            db,
            client,
        })
    }
}

/// The HTTP routes, testable without a socket.
pub fn app(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/fail-health", post(fail_health))
        .route("/recover", post(recover))
        .route("/env", get(env))
        .route("/headers", get(headers))
        .with_state(state)
}

/// Runs the web server until SIGTERM.
pub async fn serve(args: WebArgs) -> Result<(), String> {
    let state = WebState::new(PodInfo::from_env(), DbConfig::from_lookup(|k| std::env::var(k).ok()));
    if let Some(db) = &state.db {
        println!("counting visits in {}", db.url);
    }
    super::serve_until_terminated("web", &args.bind, args.port, app(state)).await
}

async fn index(State(state): State<Arc<WebState>>) -> String {
    let i = &state.info;
    let mut text = format!(
        "Hello from kubelab-demo!\npod:       {}\nnamespace: {}\nnode:      {}\nip:        {}\n",
        i.pod_name, i.namespace, i.node, i.ip
    );
    if let Some(db) = &state.db {
        match count_visit(&state.client, db).await {
            Ok(n) => text.push_str(&format!("visits:    {n}\n")),
            Err(e) => text.push_str(&format!("visits:    unknown (database error: {e})\n")),
        }
    }
    text
}

/// Adds one to the `visits` key of the store and returns the new count.
async fn count_visit(client: &reqwest::Client, db: &DbConfig) -> Result<u64, String> {
    let resp = client
        .post(format!("{}/incr/visits", db.url))
        .basic_auth(&db.user, Some(&db.password))
        .send()
        .await
        .map_err(|e| format!("{} unreachable: {e}", db.url))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {}", body.trim()));
    }
    body.trim()
        .parse()
        .map_err(|_| format!("not a number: {}", body.trim()))
}

async fn healthz(State(state): State<Arc<WebState>>) -> (StatusCode, &'static str) {
    if state.healthy.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "unhealthy (POST /recover to heal)\n")
    }
}

async fn fail_health(State(state): State<Arc<WebState>>) -> &'static str {
    state.healthy.store(false, Ordering::SeqCst);
    println!("health check now fails (POST /fail-health)");
    "health check now fails\n"
}

async fn recover(State(state): State<Arc<WebState>>) -> &'static str {
    state.healthy.store(true, Ordering::SeqCst);
    println!("health check healthy again (POST /recover)");
    "health check healthy again\n"
}

async fn env() -> String {
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
        .collect();
    vars.sort();
    vars.into_iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

async fn headers(headers: HeaderMap) -> String {
    let mut lines: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("{}: {}\n", k, String::from_utf8_lossy(v.as_bytes())))
        .collect();
    lines.sort();
    lines.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn state() -> Arc<WebState> {
        let info = PodInfo {
            pod_name: "web-7".into(),
            namespace: "shop".into(),
            node: "node-1".into(),
            ip: "10.1.0.9".into(),
        };
        WebState::new(info, None)
    }

    async fn call(app: &Router, method: &str, uri: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("x-lab", "42")
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn index_tells_who_answered() {
        let app = app(state());
        let (status, body) = call(&app, "GET", "/").await;
        assert_eq!(status, StatusCode::OK);
        for want in ["web-7", "shop", "node-1", "10.1.0.9"] {
            assert!(body.contains(want), "{want} missing from {body}");
        }
        assert!(!body.contains("visits"), "{body}");
    }

    #[tokio::test]
    async fn health_can_be_broken_and_healed() {
        let app = app(state());
        assert_eq!(
            call(&app, "GET", "/healthz").await,
            (StatusCode::OK, "ok\n".to_string())
        );
        assert_eq!(call(&app, "POST", "/fail-health").await.0, StatusCode::OK);
        assert_eq!(call(&app, "GET", "/healthz").await.0, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(call(&app, "POST", "/recover").await.0, StatusCode::OK);
        assert_eq!(call(&app, "GET", "/healthz").await.0, StatusCode::OK);
        // Breaking health is a POST: a browser's GET must not break it by accident.
        assert_eq!(
            call(&app, "GET", "/fail-health").await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn env_and_headers_are_listed() {
        let app = app(state());
        let (status, body) = call(&app, "GET", "/env").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.lines().any(|l| l.starts_with("PATH=")), "{body}");
        let (_, body) = call(&app, "GET", "/headers").await;
        assert!(body.contains("x-lab: 42"), "{body}");
    }

    #[test]
    fn db_config_needs_a_url() {
        assert_eq!(DbConfig::from_lookup(|_| None), None);
        let env = |k: &str| match k {
            "DB_URL" => Some("http://db:6379/".to_string()),
            "DB_USER" => Some("admin".to_string()),
            "DB_PASSWORD" => Some("s3cret".to_string()),
            _ => None,
        };
        assert_eq!(
            DbConfig::from_lookup(env),
            Some(DbConfig {
                url: "http://db:6379".into(),
                user: "admin".into(),
                password: "s3cret".into()
            })
        );
    }

    #[tokio::test]
    async fn visits_are_counted_in_the_kv_store() {
        let dir = tempfile::tempdir().unwrap();
        let kv = super::super::kv::KvState::new(dir.path().to_path_buf(), "admin".into(), "pw".into());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, super::super::kv::app(kv)).await });

        let info = state().info.clone();
        let db = DbConfig {
            url: format!("http://{addr}"),
            user: "admin".into(),
            password: "pw".into(),
        };
        let app = app(WebState::new(info.clone(), Some(db.clone())));
        assert!(call(&app, "GET", "/").await.1.contains("visits:    1"));
        assert!(call(&app, "GET", "/").await.1.contains("visits:    2"));

        let wrong = DbConfig {
            password: "nope".into(),
            ..db
        };
        let app = app_with(info, wrong);
        let (status, body) = call(&app, "GET", "/").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the page still answers when the database refuses"
        );
        assert!(body.contains("database error") && body.contains("401"), "{body}");
        server.abort();
    }

    fn app_with(info: PodInfo, db: DbConfig) -> Router {
        app(WebState::new(info, Some(db)))
    }
}

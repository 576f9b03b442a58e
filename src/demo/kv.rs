//! # `kubelab-demo kv`: a database small enough to read, stateful enough to teach
//!
//! Stateful workloads are where Kubernetes gets interesting: the data must outlive the container
//! (a volume), the database must keep its name (a StatefulSet), and its password must not be baked
//! into the image (a Secret). This store has exactly those needs and nothing more:
//!
//! - `GET`, `PUT`, `DELETE /kv/{key}`, `GET /kv` (the keys), `POST /incr/{key}` (add one, atomically);
//! - each key is one file under `--data-dir`, written to a temporary file and renamed into place, so
//!   a crash never leaves half a value, and a restarted container finds its data on the volume;
//! - every request but `GET /healthz` needs HTTP basic auth with `KV_USER` and `KV_PASSWORD`, taken
//!   from the environment only (a command line is visible to every process on the node); without
//!   them it refuses to start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;

/// Flags of `kubelab-demo kv`.
#[derive(Debug, clap::Args)]
pub struct KvArgs {
    /// The port to listen on.
    #[arg(long, env = "PORT", default_value_t = 6379)]
    pub port: u16,
    /// The directory that holds the data (mount a volume here).
    #[arg(long, env = "DATA_DIR", default_value = "/data")]
    pub data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind: String,
}

/// What the handlers share.
pub struct KvState {
    dir: PathBuf,
    user: String,
    password: String,
    /// Serialises writes, so `incr` reads and writes without a lost update.
    write_lock: tokio::sync::Mutex<()>,
}

impl KvState {
    pub fn new(dir: PathBuf, user: String, password: String) -> Arc<Self> {
        Arc::new(KvState {
            dir,
            user,
            password,
            write_lock: tokio::sync::Mutex::new(()),
        })
    }
}

/// The credentials from the environment, or the message to refuse to start with.
pub fn credentials(var: impl Fn(&str) -> Option<String>) -> Result<(String, String), String> {
    match (
        var("KV_USER").filter(|v| !v.is_empty()),
        var("KV_PASSWORD").filter(|v| !v.is_empty()),
    ) {
        (Some(user), Some(password)) => Ok((user, password)),
        _ => Err(
            "kv refuses to start: set KV_USER and KV_PASSWORD in its environment (in a pod, from a \
                  Secret), the user and password every client must send"
                .to_string(),
        ),
    }
}

/// Runs the store until SIGTERM.
pub async fn serve(args: KvArgs) -> Result<(), String> {
    let (user, password) = credentials(|k| std::env::var(k).ok())?;
    std::fs::create_dir_all(&args.data_dir).map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
    let keys = std::fs::read_dir(&args.data_dir)
        .map(|d| d.filter_map(Result::ok).count())
        .unwrap_or(0);
    println!("kv: data in {} ({keys} keys found)", args.data_dir.display());
    let state = KvState::new(args.data_dir, user, password);
    super::serve_until_terminated("kv", &args.bind, args.port, app(state)).await
}

/// The HTTP routes, testable without a socket.
pub fn app(state: Arc<KvState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/kv", get(list))
        .route("/kv/{key}", get(read).put(write).delete(remove))
        .route("/incr/{key}", post(incr))
        .with_state(state)
}

/// A key is a file name: letters, digits, `.`, `_`, `-`, not starting with a dot. This keeps
/// `../../etc/passwd` and the store's own temporary files out.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && !key.starts_with('.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The response refusing a request, or `None` if it may go ahead.
fn refusal(state: &KvState, headers: &HeaderMap, key: Option<&str>) -> Option<Response> {
    if !authorized(state, headers) {
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            "unauthorized: send the user and password (basic auth)\n",
        )
            .into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"kv\""),
        );
        return Some(resp);
    }
    if let Some(key) = key {
        if !valid_key(key) {
            return Some(
                (
                    StatusCode::BAD_REQUEST,
                    "bad key: use letters, digits, '.', '_' and '-'\n",
                )
                    .into_response(),
            );
        }
    }
    None
}

fn authorized(state: &KvState, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{}:{}", state.user, state.password);
    constant_time_eq(&decoded, expected.as_bytes())
}

/// Compares without stopping at the first difference, so response time does not tell an attacker
/// how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn internal(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("storage error: {e}\n")).into_response()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

async fn list(State(state): State<Arc<KvState>>, headers: HeaderMap) -> Response {
    if let Some(resp) = refusal(&state, &headers, None) {
        return resp;
    }
    let dir = state.dir.clone();
    let keys = blocking(move || {
        let mut keys: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|k| valid_key(k))
            .collect();
        keys.sort();
        Ok(keys)
    })
    .await;
    match keys {
        Ok(keys) => keys
            .iter()
            .map(|k| format!("{k}\n"))
            .collect::<String>()
            .into_response(),
        Err(resp) => resp,
    }
}

async fn read(State(state): State<Arc<KvState>>, UrlPath(key): UrlPath<String>, headers: HeaderMap) -> Response {
    if let Some(resp) = refusal(&state, &headers, Some(&key)) {
        return resp;
    }
    let path = state.dir.join(&key);
    match blocking(move || read_value(&path)).await {
        Ok(Some(value)) => value.into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no key {key}\n")).into_response(),
        Err(resp) => resp,
    }
}

async fn write(
    State(state): State<Arc<KvState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(resp) = refusal(&state, &headers, Some(&key)) {
        return resp;
    }
    let _guard = state.write_lock.lock().await;
    let (dir, k) = (state.dir.clone(), key.clone());
    match blocking(move || write_value(&dir, &k, &body)).await {
        Ok(()) => (StatusCode::OK, "stored\n").into_response(),
        Err(resp) => resp,
    }
}

async fn remove(State(state): State<Arc<KvState>>, UrlPath(key): UrlPath<String>, headers: HeaderMap) -> Response {
    if let Some(resp) = refusal(&state, &headers, Some(&key)) {
        return resp;
    }
    let _guard = state.write_lock.lock().await;
    let path = state.dir.join(&key);
    match blocking(move || match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    })
    .await
    {
        Ok(true) => (StatusCode::OK, "deleted\n").into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, format!("no key {key}\n")).into_response(),
        Err(resp) => resp,
    }
}

async fn incr(State(state): State<Arc<KvState>>, UrlPath(key): UrlPath<String>, headers: HeaderMap) -> Response {
    if let Some(resp) = refusal(&state, &headers, Some(&key)) {
        return resp;
    }
    let _guard = state.write_lock.lock().await;
    let dir = state.dir.clone();
    let result = blocking(move || {
        let current = read_value(&dir.join(&key))?;
        let n = match current {
            None => 0,
            Some(bytes) => match String::from_utf8_lossy(&bytes).trim().parse::<u64>() {
                Ok(n) => n,
                Err(_) => return Ok(Err(format!("the value of {key} is not a number\n"))),
            },
        };
        let next = n.saturating_add(1);
        write_value(&dir, &key, next.to_string().as_bytes())?;
        Ok(Ok(next))
    })
    .await;
    match result {
        Ok(Ok(n)) => format!("{n}\n").into_response(),
        Ok(Err(msg)) => (StatusCode::CONFLICT, msg).into_response(),
        Err(resp) => resp,
    }
}

fn read_value(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `dir/key` atomically: a temporary file, flushed to disk, then renamed over the old one.
fn write_value(dir: &Path, key: &str, value: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{key}"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(value)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn auth(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    async fn call(app: &Router, method: &str, uri: &str, auth: Option<&str>, body: &str) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn requests_need_the_right_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(KvState::new(dir.path().to_path_buf(), "admin".into(), "pw".into()));
        assert_eq!(call(&app, "GET", "/kv/a", None, "").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            call(&app, "GET", "/kv/a", Some(&auth("admin", "wrong")), "").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, "GET", "/kv/a", Some("Bearer x"), "").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, "GET", "/kv/a", Some(&auth("admin", "pw")), "").await.0,
            StatusCode::NOT_FOUND
        );
        // Probes carry no password.
        assert_eq!(
            call(&app, "GET", "/healthz", None, "").await,
            (StatusCode::OK, "ok\n".into())
        );
    }

    #[tokio::test]
    async fn values_persist_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth("admin", "pw");
        let first = app(KvState::new(dir.path().to_path_buf(), "admin".into(), "pw".into()));
        assert_eq!(
            call(&first, "PUT", "/kv/greeting", Some(&a), "hello").await.0,
            StatusCode::OK
        );
        assert_eq!(call(&first, "PUT", "/kv/gone", Some(&a), "x").await.0, StatusCode::OK);
        assert_eq!(call(&first, "DELETE", "/kv/gone", Some(&a), "").await.0, StatusCode::OK);
        assert_eq!(
            call(&first, "DELETE", "/kv/gone", Some(&a), "").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(call(&first, "POST", "/incr/visits", Some(&a), "").await.1, "1\n");
        assert_eq!(call(&first, "POST", "/incr/visits", Some(&a), "").await.1, "2\n");
        drop(first);

        // A new process over the same directory: what a restarted container on its volume sees.
        let second = app(KvState::new(dir.path().to_path_buf(), "admin".into(), "pw".into()));
        assert_eq!(
            call(&second, "GET", "/kv/greeting", Some(&a), "").await,
            (StatusCode::OK, "hello".into())
        );
        assert_eq!(call(&second, "POST", "/incr/visits", Some(&a), "").await.1, "3\n");
        assert_eq!(call(&second, "GET", "/kv", Some(&a), "").await.1, "greeting\nvisits\n");
        assert_eq!(
            call(&second, "POST", "/incr/greeting", Some(&a), "").await.0,
            StatusCode::CONFLICT
        );
        assert!(dir.path().join("greeting").is_file());
    }

    #[tokio::test]
    async fn keys_cannot_escape_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(KvState::new(dir.path().to_path_buf(), "u".into(), "p".into()));
        let a = auth("u", "p");
        assert_eq!(
            call(&app, "PUT", "/kv/..%2Fescape", Some(&a), "x").await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(&app, "PUT", "/kv/.hidden", Some(&a), "x").await.0,
            StatusCode::BAD_REQUEST
        );
        assert!(!dir.path().parent().unwrap().join("escape").exists());
    }

    #[test]
    fn refuses_to_start_without_credentials() {
        let err = credentials(|_| None).unwrap_err();
        assert!(err.contains("KV_USER") && err.contains("KV_PASSWORD"), "{err}");
        let only_user = |k: &str| (k == "KV_USER").then(|| "admin".to_string());
        assert!(credentials(only_user).is_err());
        let both = |k: &str| Some(format!("{k}-value"));
        assert_eq!(
            credentials(both).unwrap(),
            ("KV_USER-value".into(), "KV_PASSWORD-value".into())
        );
    }

    #[test]
    fn key_rules() {
        assert!(valid_key("visits") && valid_key("a.b-c_d9"));
        assert!(!valid_key("") && !valid_key(".tmp-x") && !valid_key("a/b") && !valid_key("../x"));
    }
}

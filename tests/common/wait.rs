//! Waiting with a deadline: poll a check until it gives a value, and fail the test, saying what
//! was awaited (and what the check last reported), when the deadline passes. No test sleeps for
//! a fixed time hoping that something happened; they all wait through these two functions.

use std::future::Future;
use std::time::Duration;

/// How long to rest between two checks.
pub const POLL: Duration = Duration::from_millis(100);

/// Polls `check` every [`POLL`] until it gives `Some`, failing after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_ok(limit, what, || {
        let attempt = check();
        async move { attempt.await.ok_or_else(String::new) }
    })
    .await
}

/// Polls `check` every [`POLL`] until it gives `Ok`; after `limit`, fails with its last `Err`.
/// A check still running at the deadline is abandoned (and reported as such).
pub async fn eventually_ok<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let last = match tokio::time::timeout_at(deadline, check()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(last)) => last,
            Err(_) => "the last check itself did not finish".into(),
        };
        let seen = if last.is_empty() {
            String::new()
        } else {
            format!("; last seen: {last}")
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}{seen}"
        );
        tokio::time::sleep(POLL).await;
    }
}

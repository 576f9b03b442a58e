//! # `kubelab-demo get URL`: a tiny `curl` for the inside of a pod
//!
//! The demo image holds one binary and nothing else — no shell, no `curl`. Labs still need to
//! show that one container reaches another: `kubectl exec web -c sidecar -- kubelab-demo get
//! http://127.0.0.1:8080/` proves that the containers of a pod share `localhost`, and
//! `... get http://web.default/` that a Service name resolves. The body goes to stdout; the exit
//! status is 0 for a 2xx answer, 1 for any other answer, 2 when nothing answered.

use std::time::Duration;

/// Flags of `kubelab-demo get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The URL to fetch (`http://` only).
    pub url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

/// Fetches the URL, prints the body, and returns the exit status.
pub async fn run(args: GetArgs) -> Result<u8, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = match client.get(&args.url).send().await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("get {}: {e}", args.url);
            return Ok(2);
        }
    };
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the answer of {}: {e}", args.url))?;
    print!("{body}");
    if status.is_success() {
        Ok(0)
    } else {
        eprintln!("get {}: {status}", args.url);
        Ok(1)
    }
}

//! # Container logs (`kubectl logs`)
//!
//! Docker keeps what a container writes to stdout and stderr (its json-file log driver) and
//! serves it back as a stream of frames, each tagged stdout or stderr. Kubernetes' logs are one
//! interleaved stream, so the tags are dropped here. Kubernetes' options map one to one:
//! `follow` keeps the stream open for new output, `tailLines` → `tail`, `sinceSeconds` → `since`
//! (an absolute Unix time for Docker), `timestamps` prefixes each line with its RFC 3339 time.
//! `previous` (the container before the last restart) is the caller's business: it asks for the
//! logs of the previous container's id, which the agent keeps until the pod is gone.

use bollard::query_parameters::{InspectContainerOptions, LogsOptions};
use bollard::Docker;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::docker_err;
use crate::runtime::{LogOptions, RuntimeError};

/// Docker's log options for Kubernetes' (pure; `now` is the current Unix time).
pub fn docker_options(options: &LogOptions, now: i64) -> LogsOptions {
    let since = options
        .since_seconds
        .map(|s| now.saturating_sub(i64::try_from(s).unwrap_or(i64::MAX)).max(0))
        .and_then(|t| i32::try_from(t).ok())
        .unwrap_or(0);
    LogsOptions {
        follow: options.follow,
        stdout: true,
        stderr: true,
        since,
        until: 0,
        timestamps: options.timestamps,
        tail: options
            .tail_lines
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".to_string()),
    }
}

/// The output of container `id`, stdout and stderr interleaved.
pub async fn stream(
    docker: &Docker,
    id: &str,
    options: &LogOptions,
) -> Result<BoxStream<'static, Result<Bytes, RuntimeError>>, RuntimeError> {
    let what = format!("logs of container {id}");
    // Ask first, so a missing container is an error of the call rather than of the stream.
    docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| docker_err(e, &what))?;
    let options = docker_options(options, chrono::Utc::now().timestamp());
    // bollard's stream owns its request (it borrows neither the client nor the id), so it can
    // outlive this call.
    Ok(docker
        .logs(id, Some(options))
        .map(move |frame| frame.map(|f| f.into_bytes()).map_err(|e| docker_err(e, &what)))
        .boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_map_to_docker() {
        let o = docker_options(&LogOptions::default(), 1_000_000);
        assert_eq!(
            (o.follow, o.stdout, o.stderr, o.since, o.timestamps, o.tail.as_str()),
            (false, true, true, 0, false, "all")
        );
        let o = docker_options(
            &LogOptions {
                follow: true,
                tail_lines: Some(10),
                since_seconds: Some(60),
                timestamps: true,
            },
            1_000_000,
        );
        assert_eq!(
            (o.follow, o.since, o.timestamps, o.tail.as_str()),
            (true, 999_940, true, "10")
        );
        let o = docker_options(
            &LogOptions {
                since_seconds: Some(u64::MAX),
                ..Default::default()
            },
            5,
        );
        assert_eq!(o.since, 0);
    }
}

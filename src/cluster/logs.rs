//! # `kubelab logs COMPONENT` (minikube logs)
//!
//! Each component writes to `<home>/logs/<component>.log`; this prints one of them, its last
//! lines with `--tail N`, and keeps following it with `-f` (as `tail -f`, also across a restart
//! by `up`, which appends to the same file). These are the logs of the cluster's own processes;
//! a *container's* logs come through the API server (`kubectl logs POD`), as in Kubernetes.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use super::ClusterArgs;

/// Flags of `kubelab logs`.
#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// `apiserver`, `scheduler`, `controller`, or a node (`node-1`, ...).
    pub component: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Keep printing what is appended (Ctrl-C to stop).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Print only the last N lines (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
}

/// The last `tail` lines of `text` (all of them for a negative `tail`).
pub fn last_lines(text: &str, tail: i64) -> &str {
    let Ok(n) = usize::try_from(tail) else {
        return text;
    };
    if n == 0 {
        return "";
    }
    // Walk back over `n` line ends (a final newline ends the last line, it starts none).
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut start = 0;
    let mut seen = 0;
    for (i, byte) in body.bytes().enumerate().rev() {
        if byte == b'\n' {
            seen += 1;
            if seen == n {
                start = i + 1;
                break;
            }
        }
    }
    &text[start..]
}

/// The components that have a log file, for the error message of a wrong name.
fn known_components(logs_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(logs_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs `kubelab logs`.
pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let layout = args.cluster.layout()?;
    if args.component.is_empty() || args.component.contains(['/', '\\']) || args.component.starts_with('.') {
        bail!("{:?} is not a component name", args.component);
    }
    let path = layout.log_file(&args.component);
    if !path.is_file() {
        let known = known_components(&layout.logs_dir());
        if known.is_empty() {
            bail!(
                "cluster \"{}\" has no logs in {}: was it started (`kubelab up{}`)?",
                args.cluster.cluster,
                layout.logs_dir().display(),
                args.cluster.hint_flags()
            );
        }
        bail!(
            "no component {:?} in cluster \"{}\"; its components: {}",
            args.component,
            args.cluster.cluster,
            known.join(", ")
        );
    }
    let mut file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = std::io::stdout().lock();
    out.write_all(last_lines(&text, args.tail).as_bytes())?;
    out.flush()?;
    drop(out);
    if !args.follow {
        return Ok(());
    }
    let mut offset = bytes.len() as u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len < offset {
            // Truncated or replaced: start again from its beginning.
            file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
            offset = 0;
        }
        if len > offset {
            file.seek(SeekFrom::Start(offset))?;
            let mut chunk = Vec::new();
            file.read_to_end(&mut chunk)?;
            offset += chunk.len() as u64;
            let mut out = std::io::stdout().lock();
            out.write_all(&chunk)?;
            out.flush()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: LogsArgs,
    }

    #[test]
    fn tails() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a\nb\nc\n", 5), "a\nb\nc\n");
        assert_eq!(last_lines("a\nb\nc\n", -1), "a\nb\nc\n");
        assert_eq!(last_lines("a\nb\n", 0), "");
        assert_eq!(last_lines("", 3), "");
    }

    #[test]
    fn flags() {
        let args = Cli::try_parse_from(["logs", "node-2", "-f", "--tail", "20", "--cluster", "lab"])
            .unwrap()
            .args;
        assert_eq!(args.component, "node-2");
        assert!(args.follow);
        assert_eq!(args.tail, 20);
        assert_eq!(args.cluster.cluster, "lab");
        let args = Cli::try_parse_from(["logs", "apiserver"]).unwrap().args;
        assert!(!args.follow && args.tail == -1);
        assert!(Cli::try_parse_from(["logs"]).is_err());
    }

    #[tokio::test]
    async fn a_wrong_component_lists_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/apiserver.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("logs/node-1.log"), "y\n").unwrap();
        let args = Cli::try_parse_from(["logs", "node-9", "--home", home]).unwrap().args;
        let message = run(args).await.unwrap_err().to_string();
        assert!(message.contains("apiserver, node-1"), "{message}");
        let args = Cli::try_parse_from(["logs", "../x", "--home", home]).unwrap().args;
        assert!(run(args).await.is_err());
    }
}

//! # `kubelab-demo show`: what a container was given — env, files, volumes
//!
//! Labs about ConfigMaps, Secrets and volumes need to *see* what a pod got, in an image without
//! a shell, `env` or `cat`. `show` prints it to stdout, so `kubectl logs` is the window:
//!
//! ```text
//! kubelab-demo show --env DB_ --file /etc/config/app.yaml --every-ms 500
//! env DB_URL=postgres://db                      each variable whose name starts with a prefix
//! file /etc/config/app.yaml: mode: fast         the file (newlines shown as \n), and again
//! file /etc/config/app.yaml: mode: slow         each time it changes (a ConfigMap update)
//! ```
//!
//! `--write PATH=TEXT` writes a file first (two containers sharing an `emptyDir`, data that
//! must survive on a persistent volume). Then it keeps running until SIGTERM, like a server, so
//! the pod stays `Running` while you look.

use std::collections::BTreeMap;
use std::time::Duration;

/// Flags of `kubelab-demo show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Print the variables whose names start with this prefix (`""` for all); repeatable.
    #[arg(long = "env")]
    pub env_prefixes: Vec<String>,
    /// Print this file's content, and again whenever it changes; repeatable.
    #[arg(long = "file")]
    pub files: Vec<String>,
    /// Write `TEXT` to `PATH` before anything else (`PATH=TEXT`); repeatable.
    #[arg(long = "write")]
    pub writes: Vec<String>,
    /// How often to look at the files again, in milliseconds (0: only once).
    #[arg(long, default_value_t = 0)]
    pub every_ms: u64,
}

/// One line per file: its content with newlines escaped, or why it cannot be read.
fn describe(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => format!(
            "file {path}: {}",
            String::from_utf8_lossy(&bytes)
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
        ),
        Err(e) => format!("file {path}: error: {e}"),
    }
}

/// The `env` lines for variables matching one of `prefixes`, sorted.
pub fn env_lines(vars: impl Iterator<Item = (String, String)>, prefixes: &[String]) -> Vec<String> {
    let chosen: BTreeMap<String, String> = vars
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p.as_str())))
        .collect();
    chosen
        .into_iter()
        .map(|(k, v)| format!("env {k}={}", v.replace('\n', "\\n")))
        .collect()
}

/// Writes, prints, then watches the files until SIGTERM.
pub async fn run(args: ShowArgs) -> Result<(), String> {
    for write in &args.writes {
        let (path, text) = write
            .split_once('=')
            .ok_or_else(|| format!("--write {write:?}: expected PATH=TEXT"))?;
        std::fs::write(path, text).map_err(|e| format!("writing {path}: {e}"))?;
        println!("wrote {path}");
    }
    for line in env_lines(std::env::vars(), &args.env_prefixes) {
        println!("{line}");
    }
    let mut last: BTreeMap<&str, String> = BTreeMap::new();
    let watch = async {
        loop {
            for path in &args.files {
                let now = describe(path);
                if last.get(path.as_str()) != Some(&now) {
                    println!("{now}");
                    last.insert(path, now);
                }
            }
            if args.every_ms == 0 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(args.every_ms)).await;
        }
    };
    tokio::select! {
        _ = watch => {}
        _ = super::terminated() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_filter_and_sort() {
        let vars = vec![
            ("B_X".to_string(), "2".to_string()),
            ("A_Y".to_string(), "1".to_string()),
            ("C".to_string(), "3\n4".to_string()),
        ];
        let lines = env_lines(vars.clone().into_iter(), &["A_".into(), "B_".into()]);
        assert_eq!(lines, ["env A_Y=1", "env B_X=2"]);
        let all = env_lines(vars.into_iter(), &["".into()]);
        assert_eq!(all.len(), 3);
        assert_eq!(all[2], "env C=3\\n4", "one line per variable");
    }

    #[test]
    fn files_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "a\nb").unwrap();
        let p = path.to_string_lossy().into_owned();
        assert_eq!(describe(&p), format!("file {p}: a\\nb"));
        assert!(describe("/no/such/file").contains("error"));
    }
}

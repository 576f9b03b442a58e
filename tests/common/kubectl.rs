//! The real `kubectl`, run as a user runs it against a test cluster. kubectl caches discovery on
//! disk, so each runner has its own fresh `--cache-dir`: a cache from another cluster (or another
//! test) would answer for this one.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether a `kubectl` is on the PATH.
pub fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs kubectl with one kubeconfig and its own discovery cache.
pub struct Kubectl {
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

impl Kubectl {
    pub fn new(kubeconfig: PathBuf) -> Kubectl {
        Kubectl {
            kubeconfig,
            cache: tempfile::tempdir().expect("a cache directory"),
        }
    }

    /// The command, not yet run (to pipe or spawn it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache.path())
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Runs `args` and shows what kubectl printed in the test's output.
    pub fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("run kubectl");
        eprintln!(
            "$ kubectl {} -> {}\n{}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs `args`, which must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "kubectl {args:?} failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs `args` until `check` accepts its stdout, or fails after `patience`.
    pub fn until(&self, args: &[&str], patience: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + patience;
        loop {
            let output = self.command(args).output().expect("run kubectl");
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            if output.status.success() && check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "kubectl {args:?} did not show what was expected within {patience:?}; last output:\n{text}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

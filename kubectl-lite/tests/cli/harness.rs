//! A kubeconfig pointing at an in-process API server, and a way to run the binary against it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use kubelab_apiserver::testing::InProcessApiserver;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

pub const BIN: &str = env!("CARGO_BIN_EXE_kubectl-lite");

/// What one run printed, and its exit code.
#[derive(Debug)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Out {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts failure (exit code 1) and returns stderr.
    #[track_caller]
    pub fn fails(&self) -> &str {
        assert_eq!(
            self.code, 1,
            "expected exit code 1; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stderr
    }
}

/// An API server, a temporary directory and a kubeconfig for it.
pub struct Lab {
    pub server: InProcessApiserver,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Lab {
    pub async fn start() -> Lab {
        let server = InProcessApiserver::start().await.expect("start the API server");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        kubelab_client::write_kubeconfig(&kubeconfig, "lab", &server.url).expect("write the kubeconfig");
        Lab {
            server,
            dir,
            kubeconfig,
        }
    }

    /// Writes a file in the lab's directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create directories");
        }
        std::fs::write(&path, text).expect("write a file");
        path.display().to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `kubectl-lite ARGS` with `KUBECONFIG` set.
    pub async fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, &[], None).await
    }

    /// Runs it with extra environment variables and, optionally, standard input.
    pub async fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Out {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBE_EDITOR")
            .env_remove("EDITOR")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start kubectl-lite");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(text.as_bytes()).await.expect("write stdin");
            drop(pipe);
        }
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl-lite {args:?} did not finish within 60 s"))
            .expect("wait for kubectl-lite");
        Out {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code().unwrap_or(-1),
        }
    }

    /// `get -o json` of one object.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.run(&all).await;
        serde_json::from_str(out.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
    }

    /// Applies YAML given on standard input.
    pub async fn apply(&self, yaml: &str) -> Out {
        self.run_with(&["apply", "-f", "-"], &[], Some(yaml)).await
    }

    /// A raw request to the API server (for what kubectl-lite does not do: writing a status).
    pub async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let client = kubelab_client::Client::new(kubelab_client::Config::new(&self.server.url)).expect("client");
        let method = kubelab_client::Method::from_bytes(method.as_bytes()).expect("method");
        let body = body.map(|b| kubelab_client::RequestBody::json(&b).expect("body"));
        client.request(method, path, body).await.expect("raw request")
    }
}

/// A pod manifest.
pub fn pod(name: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {labels}\nspec:\n  containers:\n  - name: main\n    image: kubelab/demo:latest\n"
    )
}

/// A deployment manifest.
pub fn deployment(name: &str, replicas: u32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: web
        image: {image}
        ports:
        - containerPort: 8080
"
    )
}

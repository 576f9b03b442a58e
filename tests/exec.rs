//! `kubectl exec` end to end: the real kubectl, an API server process, a node agent (in this
//! process) on real Docker, and the WebSocket (`v5.channel.k8s.io`) all the way from kubectl
//! through the API server's upgrade proxy to a Docker exec in the pod's container.
//!
//! The demo image has no shell (it is `FROM scratch`), so commands run `kubelab-demo sh`, the
//! demo binary's tiny shell. Checked here: output and exit code of a command; stdin piped in
//! (`-i`) and its end of file (v5's close signal); an interactive session (`-it`) driven through
//! a pseudo-terminal made by `script`; a program that does not exist (Docker's exit code 126);
//! kubectl's wording for a container that is not in the pod, for one that is not running and
//! for a missing pod; and kubelab's own client (`kubelab_client::exec`).
//!
//! Without Docker (or kubectl, or `script`) the test prints a loud `SKIPPED:` line and passes,
//! unless `KUBELAB_REQUIRE_DOCKER=1` (CI), which makes it fail. Every wait has a deadline, and a
//! guard removes the cluster's containers and network however the test ends.

mod common;

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kubelab_agent::runtime::docker::{connect_docker, remove_cluster_objects, DockerRuntime};
use kubelab_agent::AgentConfig;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEMO: &str = "kubelab/demo:latest";
const NODE: &str = "node-x";
const SH: &str = "/bin/kubelab-demo";

fn skip_or_fail(reason: &str) {
    if std::env::var("KUBELAB_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("KUBELAB_REQUIRE_DOCKER=1 but {reason}");
    }
    eprintln!("\n========================================================\nSKIPPED: {reason}\n========================================================\n");
}

/// Docker is reachable and the pause and demo images are built.
async fn docker_ready() -> bool {
    let docker = match connect_docker().await {
        Ok(docker) => docker,
        Err(e) => {
            skip_or_fail(&format!("Docker is unreachable ({e})"));
            return false;
        }
    };
    let sources = kubelab_agent::images::ImageSources {
        pause_binary: env!("CARGO_BIN_EXE_kubelab-pause").into(),
        demo_binary: env!("CARGO_BIN_EXE_kubelab-demo").into(),
    };
    if let Err(e) = kubelab_agent::images::ensure_images(&docker, &sources, false).await {
        skip_or_fail(&format!("the kubelab images cannot be built ({e})"));
        return false;
    }
    true
}

fn tool_present(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip_or_fail(&format!("`{name}` is not installed"));
    }
    found
}

fn unique_cluster() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "x-{:x}-{:x}-{}",
        std::process::id(),
        nanos & 0xfffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes every Docker object of its cluster when dropped (also when the test panics).
struct ClusterGuard(String);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        let cluster = self.0.clone();
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let docker = connect_docker().await.map_err(|e| e.to_string())?;
                remove_cluster_objects(&docker, &cluster)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match joined {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("cleanup of cluster {} failed: {e}", self.0),
            Err(_) => eprintln!("cleanup of cluster {} panicked", self.0),
        }
    }
}

/// Aborts the in-process agent when dropped, before the cluster guard removes its containers.
struct AgentTask(tokio::task::JoinHandle<()>);

impl Drop for AgentTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Polls `check` every 100 ms until it returns `Some`, failing after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_json(http: &reqwest::Client, url: String) -> Option<Value> {
    let response = http.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

fn running(pod: &Value, container: &str) -> bool {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == container))
        .is_some_and(|s| s["state"]["running"].is_object())
}

/// What a finished kubectl run gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs kubectl with `args` (and `input` on stdin), with a deadline.
async fn kubectl(kubeconfig: &std::path::Path, cache: &std::path::Path, args: &[&str], input: Option<&str>) -> Run {
    let mut command = tokio::process::Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start kubectl");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).await.expect("write kubectl's stdin");
        drop(stdin);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish within 60 s"))
        .expect("kubectl output");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn kubectl_exec_runs_commands_with_stdin_and_a_terminal() {
    if !docker_ready().await || !tool_present("kubectl") || !tool_present("script") {
        return;
    }
    let cluster = unique_cluster();
    let guard = ClusterGuard(cluster.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let apiserver = common::Apiserver::start(&dir.path().join("data")).await;
    let base = apiserver.base_url();
    let http = reqwest::Client::new();

    // The node agent, in this process, serving exec on a free loopback port.
    let runtime = DockerRuntime::connect_with_network(&cluster, NODE)
        .await
        .expect("docker runtime");
    let client = kubelab_client::Client::new(kubelab_client::Config::new(base.clone())).expect("client");
    let mut config = AgentConfig::new(NODE, &cluster);
    config.serve = true;
    config.port = 0;
    config.relist_interval = Duration::from_millis(200);
    config.status_update_interval = Duration::from_secs(1);
    let agent_client = client.clone();
    let agent = AgentTask(tokio::spawn(async move {
        let result = kubelab_agent::run(config, agent_client, Arc::new(runtime), std::future::pending()).await;
        eprintln!("the agent stopped: {result:?}");
    }));

    // A pod whose container runs, and one whose container never can (its image does not exist).
    for (name, image) in [("shell", DEMO), ("broken", "kubelab/no-such-image:1")] {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [
                {"name": "app", "image": image, "imagePullPolicy": "Never", "args": ["sleep"]}
            ]}
        });
        let response = http
            .post(format!("{base}/api/v1/namespaces/default/pods"))
            .json(&pod)
            .send()
            .await
            .expect("create pod");
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    }
    eventually(Duration::from_secs(60), "pod shell's container to run", || async {
        let pod = get_json(&http, format!("{base}/api/v1/namespaces/default/pods/shell")).await?;
        running(&pod, "app").then_some(())
    })
    .await;

    let kubeconfig = dir.path().join("kubeconfig");
    kubelab_client::write_kubeconfig(&kubeconfig, &cluster, &base).expect("kubeconfig");
    let cache = dir.path().join("kube-cache");

    // 1. A command's output and exit code.
    let run = kubectl(
        &kubeconfig,
        &cache,
        &["exec", "shell", "--", SH, "sh", "-c", "echo hi; exit 3"],
        None,
    )
    .await;
    assert_eq!(run.stdout, "hi\n", "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
    let run = kubectl(
        &kubeconfig,
        &cache,
        &["exec", "shell", "-c", "app", "--", SH, "sh", "-c", "echo ok"],
        None,
    )
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (Some(0), "ok\n"),
        "stderr: {}",
        run.stderr
    );

    // 2. stdin piped in; its end of file ends `cat`.
    let input = "first line\nsecond line\n";
    let run = kubectl(
        &kubeconfig,
        &cache,
        &["exec", "-i", "shell", "--", SH, "sh", "-c", "cat"],
        Some(input),
    )
    .await;
    assert_eq!(run.stdout, input, "stderr: {}", run.stderr);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);

    // 3. An interactive session through a pseudo-terminal.
    interactive_session(&kubeconfig, &cache).await;

    // 4. Errors, in kubectl's words.
    let run = kubectl(
        &kubeconfig,
        &cache,
        &["exec", "shell", "-c", "nope", "--", SH, "sh"],
        None,
    )
    .await;
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("container nope is not valid for pod shell"),
        "stderr: {}",
        run.stderr
    );
    let run = kubectl(&kubeconfig, &cache, &["exec", "broken", "--", SH, "sh"], None).await;
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr
            .contains("unable to upgrade connection: container not found (\"app\")"),
        "stderr: {}",
        run.stderr
    );
    let run = kubectl(&kubeconfig, &cache, &["exec", "shell", "--", "/no/such/program"], None).await;
    // Docker's own words and code for a program that is not there, as on a real node.
    assert_eq!(run.code, Some(126), "stderr: {}", run.stderr);
    assert!(
        run.stdout.contains("no such file or directory"),
        "stdout: {}",
        run.stdout
    );
    let run = kubectl(&kubeconfig, &cache, &["exec", "ghost", "--", SH, "sh"], None).await;
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("pods \"ghost\" not found"),
        "stderr: {}",
        run.stderr
    );

    // 5. kubelab's own client: stdin, its end, stdout, stderr and the exit code.
    use kubelab_client::exec::{connect, ExecOptions};
    let options = ExecOptions::new([SH, "sh", "-c", "cat; nope; exit 7"]).stdin(true);
    let mut session = connect(&client, "default", "shell", &options)
        .await
        .expect("exec session");
    assert_eq!(session.protocol(), "v5.channel.k8s.io");
    let mut stdin = session.stdin.take().expect("stdin");
    stdin.write(b"through the client\n").await.expect("write");
    stdin.close().await.expect("close stdin");
    let (mut out, mut err) = (session.stdout.take().unwrap(), session.stderr.take().unwrap());
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let collect = async {
        loop {
            tokio::select! {
                Some(chunk) = out.recv() => stdout.extend_from_slice(&chunk),
                Some(chunk) = err.recv() => stderr.extend_from_slice(&chunk),
                else => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("the output ends");
    assert_eq!(String::from_utf8_lossy(&stdout), "through the client\n");
    assert_eq!(String::from_utf8_lossy(&stderr), "sh: nope: not found\n");
    let code = tokio::time::timeout(Duration::from_secs(30), session.wait())
        .await
        .expect("exit in time");
    assert_eq!(code.expect("exit code"), 7);

    // 6. A terminal through the client, resized: the shell's `size` shows what was set.
    let options = ExecOptions::new([SH, "sh"]).stdin(true).tty(true);
    let mut session = connect(&client, "default", "shell", &options)
        .await
        .expect("tty session");
    assert!(session.stderr.is_none(), "a terminal has one output");
    session.resizer().resize(100, 40).await.expect("resize");
    let mut stdin = session.stdin.take().expect("stdin");
    stdin.write(b"size\n").await.expect("type");
    let mut out = session.stdout.take().expect("stdout");
    let mut screen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !screen.contains("40 100") {
        let chunk = tokio::time::timeout_at(deadline, out.recv())
            .await
            .unwrap_or_else(|_| panic!("no \"40 100\" within 30 s; the terminal showed {screen:?}"))
            .unwrap_or_else(|| panic!("the session ended; the terminal showed {screen:?}"));
        screen.push_str(&String::from_utf8_lossy(&chunk));
    }
    stdin.write(b"exit 4\n").await.expect("type");
    drop(out);
    let code = tokio::time::timeout(Duration::from_secs(30), session.wait())
        .await
        .expect("exit in time");
    assert_eq!(code.expect("exit code"), 4);

    let refused = connect(&client, "default", "shell", &ExecOptions::new(["ls"]).container("nope"))
        .await
        .err()
        .expect("refused");
    assert!(
        refused
            .to_string()
            .contains("container nope is not valid for pod shell"),
        "{refused}"
    );

    drop(agent);
    drop(apiserver);
    drop(guard);
}

/// `kubectl exec -it shell -- kubelab-demo sh` inside `script`, which gives kubectl a
/// pseudo-terminal: wait for the remote prompt (printed only when the remote stdin is a
/// terminal), run a command, see its output, exit with a code kubectl passes on.
async fn interactive_session(kubeconfig: &std::path::Path, cache: &std::path::Path) {
    let inner = format!(
        "kubectl --kubeconfig '{}' --cache-dir '{}' exec -it shell -- {SH} sh",
        kubeconfig.display(),
        cache.display()
    );
    let mut child = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start script");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, "$ ").await;
    // The quotes make the remote output differ from the echoed input.
    stdin.write_all(b"echo tty-'works'\n").await.expect("type");
    read_until(&mut stdout, &mut seen, "tty-works").await;
    stdin.write_all(b"exit 5\n").await.expect("type");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the session ends within 30 s")
        .expect("script's status");
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr).await;
    }
    assert_eq!(status.code(), Some(5), "stderr: {stderr}");
}

/// Reads the terminal into `seen` until it shows `needle` (30 s at most).
async fn read_until(stdout: &mut tokio::process::ChildStdout, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut buffer = [0u8; 4096];
    while !seen.contains(needle) {
        let read = tokio::time::timeout_at(deadline, stdout.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 30 s; the terminal showed {seen:?}"))
            .expect("read the terminal");
        assert_ne!(
            read, 0,
            "the session ended before {needle:?}; the terminal showed {seen:?}"
        );
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

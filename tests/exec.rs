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
use std::time::Duration;

use common::docker::{running, tool_or_skip, DockerCluster, DEMO_IMAGE as DEMO};
use common::eventually;
use kubelab_agent::AgentConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NODE: &str = "node-x";
const SH: &str = "/bin/kubelab-demo";

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
    if !tool_or_skip("kubectl") || !tool_or_skip("script") {
        return;
    }
    let Some(mut env) = DockerCluster::start("x").await else {
        return;
    };
    let (cluster, base) = (env.name.clone(), env.base.clone());

    // The node agent, in this process, serving exec on a free loopback port.
    let client = kubelab_client::Client::new(kubelab_client::Config::new(base.clone())).expect("client");
    let mut config = AgentConfig::new(NODE, &cluster);
    config.serve = true;
    config.port = 0;
    config.relist_interval = Duration::from_millis(200);
    config.status_update_interval = Duration::from_secs(1);
    env.start_agent(config).await;

    // A pod whose container runs, and one whose container never can (its image does not exist).
    for (name, image) in [("shell", DEMO), ("broken", "kubelab/no-such-image:1")] {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 1, "containers": [
                {"name": "app", "image": image, "imagePullPolicy": "Never", "args": ["sleep"]}
            ]}
        });
        env.create("/api/v1/namespaces/default/pods", pod).await;
    }
    eventually(Duration::from_secs(60), "pod shell's container to run", || async {
        let pod = env.pod("shell").await?;
        running(&pod, "app").then_some(())
    })
    .await;

    let kubeconfig = env.dir.path().join("kubeconfig");
    kubelab_client::write_kubeconfig(&kubeconfig, &cluster, &base).expect("kubeconfig");
    let cache = env.dir.path().join("kube-cache");

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

    drop(env);
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

//! # Detached component processes
//!
//! `kubelab up` starts each component and exits, and the components keep running: like a
//! service manager (systemd, or minikube's VM running the control plane), not like a shell job.
//! Three things make a child outlive its parent cleanly:
//!
//! - **its own session** (`setsid`): it leaves the terminal's process group, so Ctrl-C typed
//!   into the shell later, or the terminal closing (SIGHUP), does not reach it;
//! - **no inherited terminal I/O**: stdin is `/dev/null`, stdout and stderr append to its log
//!   file, so nothing blocks on (or dies writing to) a terminal that is gone;
//! - **no parent waiting for it**: when `up` exits, the kernel re-parents the child to init,
//!   which reaps it when it eventually exits.
//!
//! Stopping is the other half: SIGTERM first (every component shuts down cleanly on it: the
//! apiserver closes its store, leaders release their leases), SIGKILL only after a timeout.
//! Before any signal, the PID is checked to still be the process we started (its start time),
//! since PIDs are reused.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

/// The subcommands that also exist as a binary of their own (`kubelab agent` = `kubelab-agent`).
const DEDICATED_BINARIES: [&str; 4] = ["apiserver", "scheduler", "controller", "agent"];

/// The program and arguments that run `kubelab ARGS...`: when the subcommand has a binary of its
/// own beside `kubelab` (`kubelab-agent` for `agent ...`), that binary without the subcommand, as
/// Kubernetes ships one binary per component; otherwise `kubelab` itself. Same flags, same
/// behaviour, less memory: a process maps only its own component's code, and the pages of code it
/// touches count in its resident size (`kubelab bench pod-start` measures the agent's).
pub fn program_for(binary: &Path, args: &[String]) -> (PathBuf, Vec<String>) {
    if let (Some(subcommand), Some(dir)) = (args.first(), binary.parent()) {
        if DEDICATED_BINARIES.contains(&subcommand.as_str()) {
            let dedicated = dir.join(format!("kubelab-{subcommand}{}", std::env::consts::EXE_SUFFIX));
            if dedicated.is_file() {
                return (dedicated, args[1..].to_vec());
            }
        }
    }
    (binary.to_path_buf(), args.to_vec())
}

/// Starts `binary args...` in its own session with stdout and stderr appended to `log`.
/// Returns the child (to notice an early exit while `up` still runs).
pub fn spawn_detached(binary: &Path, args: &[String], log: &Path) -> anyhow::Result<Child> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening the log file {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("opening the log file {}", log.display()))?;
    let mut command = Command::new(binary);
    command
        .args(args)
        // Plain text in log files: no terminal colour codes.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent, which is all
        // that may run between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
        .spawn()
        .with_context(|| format!("starting {} {}", binary.display(), args.join(" ")))
}

/// The process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), or `None`
/// where there is no `/proc` (or no such process).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state); the start time is field 22, i.e. the 20th from here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `Z` for a zombie, ...).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

/// Whether `pid` is running and is the process that started at `expected_start` (when known).
/// A zombie (exited, not yet reaped) counts as stopped.
pub fn is_alive(pid: u32, expected_start: Option<u64>) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists =
        unsafe { libc::kill(raw, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists || proc_state(pid) == Some('Z') {
        return false;
    }
    match (expected_start, start_time(pid)) {
        (Some(expected), Some(actual)) => expected == actual,
        _ => true,
    }
}

/// Sends `signal` to `pid` if it is still the process we started.
fn send(pid: u32, expected_start: Option<u64>, signal: libc::c_int) {
    if !is_alive(pid, expected_start) {
        return;
    }
    if let Ok(raw) = libc::pid_t::try_from(pid) {
        // SAFETY: plain kill(2) on a PID checked just above to be ours.
        unsafe {
            libc::kill(raw, signal);
        }
    }
}

/// How a process ended under [`stop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// It was not running.
    AlreadyStopped,
    /// It exited on SIGTERM.
    Terminated,
    /// It ignored SIGTERM for the whole timeout and was killed.
    Killed,
}

/// Stops several processes: SIGTERM to all at once, then SIGKILL to those still running after
/// `timeout`. Returns one result per process, in order.
pub async fn stop(processes: &[(u32, Option<u64>)], timeout: Duration) -> Vec<Stopped> {
    let mut results: Vec<Option<Stopped>> = processes
        .iter()
        .map(|&(pid, start)| (!is_alive(pid, start)).then_some(Stopped::AlreadyStopped))
        .collect();
    for (&(pid, start), result) in processes.iter().zip(&results) {
        if result.is_none() {
            send(pid, start, libc::SIGTERM);
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        for (&(pid, start), result) in processes.iter().zip(results.iter_mut()) {
            if result.is_none() && !is_alive(pid, start) {
                *result = Some(Stopped::Terminated);
            }
        }
        if results.iter().all(Option::is_some) || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (&(pid, start), result) in processes.iter().zip(results.iter_mut()) {
        if result.is_none() {
            send(pid, start, libc::SIGKILL);
            *result = Some(Stopped::Killed);
        }
    }
    // A SIGKILLed process is gone within moments; wait for that, so "stopped" is true on return.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while processes.iter().any(|&(pid, start)| is_alive(pid, start)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    results.into_iter().map(|r| r.unwrap_or(Stopped::Killed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_has_a_start_time() {
        let me = std::process::id();
        let start = start_time(me);
        if Path::new("/proc/self/stat").exists() {
            assert!(start.is_some());
            // The same PID with another start time is someone else.
            assert!(!is_alive(me, start.map(|s| s + 1)));
        }
        assert!(is_alive(me, start));
        assert!(!is_alive(0, None));
        assert!(!is_alive(u32::MAX, None));
    }

    #[tokio::test]
    async fn detached_processes_log_and_stop_on_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/sleeper.log");
        let args = vec!["-c".to_string(), "echo started; exec sleep 30".to_string()];
        let mut child = spawn_detached(Path::new("/bin/sh"), &args, &log).unwrap();
        let pid = child.id();
        // Wait until it has written to its log, so the SIGTERM below does not race its start.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the process wrote nothing to its log"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // Its own session: its session id is its PID.
        // SAFETY: getsid only reads.
        let sid = unsafe { libc::getsid(pid as libc::pid_t) };
        assert_eq!(sid, pid as libc::pid_t);
        let start = start_time(pid);
        assert!(is_alive(pid, start));
        let reaper = std::thread::spawn(move || child.wait());
        let results = stop(&[(pid, start)], Duration::from_secs(5)).await;
        assert_eq!(results, [Stopped::Terminated]);
        let _ = reaper.join();
        assert!(!is_alive(pid, start));
        assert_eq!(
            stop(&[(pid, start)], Duration::from_secs(1)).await,
            [Stopped::AlreadyStopped]
        );
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "started\n");
    }

    #[test]
    fn components_run_from_their_own_binary_when_it_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let kubelab = dir.path().join("kubelab");
        let agent = dir.path().join("kubelab-agent");
        std::fs::write(&agent, b"").unwrap();
        let args: Vec<String> = ["agent", "--node-name", "node-1"].map(String::from).to_vec();
        assert_eq!(program_for(&kubelab, &args), (agent, args[1..].to_vec()));
        // No kubelab-scheduler beside it: kubelab itself, with the subcommand.
        let args: Vec<String> = ["scheduler", "--server", "http://x"].map(String::from).to_vec();
        assert_eq!(program_for(&kubelab, &args), (kubelab.clone(), args.clone()));
        // Not a component with a binary of its own.
        let args: Vec<String> = ["service-proxy"].map(String::from).to_vec();
        assert_eq!(program_for(&kubelab, &args), (kubelab, args.clone()));
    }

    #[test]
    fn a_missing_binary_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = spawn_detached(&dir.path().join("nope"), &["x".into()], &dir.path().join("l.log")).unwrap_err();
        assert!(format!("{error:#}").contains("nope x"), "{error:#}");
    }
}

//! # kubelab-pause: the first process of every pod
//!
//! A pod's containers share one network namespace: one IP, one hostname, one `localhost`. Some
//! container has to own that namespace for as long as the pod lives, even while the app containers
//! crash and restart. Kubernetes gives that job to a "pause" container whose program does nothing
//! at all; the app containers join its namespace (`network_mode: container:<pause id>`).
//!
//! Doing nothing well takes two duties, because this program runs as PID 1 of its container:
//!
//! - **Exit promptly on SIGTERM (and SIGINT).** The kernel delivers no signal to a PID 1 that has
//!   not asked for it, so a plain `sleep` as PID 1 ignores `docker stop` and is only killed after
//!   the grace period. We ask for SIGTERM, so stopping a pod is instant.
//! - **Reap zombies.** An orphaned process is re-parented to PID 1, which must `wait` for it or it
//!   stays a zombie forever. (When containers share a PID namespace, that is us.)
//!
//! The signals are blocked and then received synchronously with `sigwait`: no signal handler runs
//! at an arbitrary moment, so the code stays plain and safe to reason about. A blocked signal is
//! queued even for PID 1, which is what makes the kernel deliver SIGTERM to us at all. A SIGTERM
//! sent in the instant between the container's start and that blocking is dropped by the kernel
//! (true of every PID 1); the program prints `kubelab-pause: ready` once it can no longer miss one.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("kubelab-pause {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(signal) => {
            eprintln!("kubelab-pause: received signal {signal}, exiting");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kubelab-pause: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Waits for SIGTERM or SIGINT and returns which one came; reaps children on every SIGCHLD.
fn run() -> std::io::Result<libc::c_int> {
    // SAFETY: `set` is a plain bit set that sigemptyset/sigaddset initialise before any use;
    // pthread_sigmask and sigwait only read it. The program is single-threaded, so blocking the
    // signals on this thread blocks them for the whole process.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
            libc::sigaddset(&mut set, sig);
        }
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        // Until this point a SIGTERM would have been lost (see the module's doc); from now on it
        // is queued. Saying so lets a caller that stops us right after starting us wait for it.
        println!("kubelab-pause: ready");
        loop {
            let mut sig: libc::c_int = 0;
            let rc = libc::sigwait(&set, &mut sig);
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
            match sig {
                libc::SIGCHLD => reap(),
                other => return Ok(other),
            }
        }
    }
}

/// Collects every child that has exited. Several exits can be merged into one SIGCHLD, so loop
/// until none is left.
fn reap() {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes only into `status`, which lives on our stack.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
    }
}

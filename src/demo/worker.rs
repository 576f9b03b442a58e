//! # `kubelab-demo worker`: a program that fails on command
//!
//! Restart policies and back-off are easiest to see with a program that dies when told to. The
//! worker prints a line per second (for `logs -f` labs) and then, if asked, exits with a chosen
//! status (`--exit-code 3`: a Job that fails, or `restartPolicy: OnFailure` at work) or crashes
//! (`--crash`: an abort, the CrashLoopBackOff lab). SIGTERM always ends it at once with status 0.

use std::time::Duration;

use super::Outcome;

/// Flags of `kubelab-demo worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Stop after this many seconds (at once if `--exit-code` or `--crash` is given without it).
    #[arg(long, env = "EXIT_AFTER")]
    pub exit_after: Option<u64>,
    /// The exit status to stop with.
    #[arg(long, env = "EXIT_CODE")]
    pub exit_code: Option<u8>,
    /// Crash (abort) instead of exiting.
    #[arg(long, env = "CRASH")]
    pub crash: bool,
}

/// When and how the worker will end, decided from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// `None`: run until SIGTERM.
    pub after: Option<Duration>,
    /// How to end once `after` has passed.
    pub outcome: Outcome,
}

impl WorkerArgs {
    pub fn plan(&self) -> Plan {
        let outcome = if self.crash {
            Outcome::Crash
        } else {
            Outcome::Exit(self.exit_code.unwrap_or(0))
        };
        let after = match self.exit_after {
            Some(secs) => Some(Duration::from_secs(secs)),
            None if self.crash || self.exit_code.is_some() => Some(Duration::ZERO),
            None => None,
        };
        Plan { after, outcome }
    }
}

/// Runs the worker, writing its lines to `out`; returns how the process should end.
pub async fn run(args: WorkerArgs, out: impl std::io::Write) -> Outcome {
    run_until(args.plan(), out, super::terminated()).await
}

/// The worker's loop, ending early when `stop` resolves (SIGTERM in the real program).
pub async fn run_until(
    plan: Plan,
    mut out: impl std::io::Write,
    stop: impl std::future::Future<Output = ()>,
) -> Outcome {
    let start = tokio::time::Instant::now();
    let deadline = plan.after.map(|d| start + d);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(stop);
    let mut n: u64 = 0;
    loop {
        let due = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // Biased: a deadline of zero ends the worker before it prints anything.
            biased;
            _ = &mut stop => {
                let _ = writeln!(out, "worker: SIGTERM received, exiting");
                return Outcome::Exit(0);
            }
            _ = due => {
                let _ = match plan.outcome {
                    Outcome::Crash => writeln!(out, "worker: crashing now, as asked"),
                    Outcome::Exit(code) => writeln!(out, "worker: exiting with status {code}, as asked"),
                };
                let _ = out.flush();
                return plan.outcome;
            }
            _ = ticks.tick() => {
                n += 1;
                let _ = writeln!(out, "worker: tick {n}");
                let _ = out.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> WorkerArgs {
        let mut argv = vec!["kubelab-demo", "worker"];
        argv.extend_from_slice(flags);
        match crate::demo::Cli::try_parse_from(argv).unwrap().command {
            crate::demo::Command::Worker(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_make_the_plan() {
        assert_eq!(
            args(&[]).plan(),
            Plan {
                after: None,
                outcome: Outcome::Exit(0)
            }
        );
        assert_eq!(
            args(&["--exit-after", "5", "--exit-code", "3"]).plan(),
            Plan {
                after: Some(Duration::from_secs(5)),
                outcome: Outcome::Exit(3)
            }
        );
        assert_eq!(
            args(&["--crash"]).plan(),
            Plan {
                after: Some(Duration::ZERO),
                outcome: Outcome::Crash
            }
        );
        assert_eq!(
            args(&["--exit-code", "1"]).plan(),
            Plan {
                after: Some(Duration::ZERO),
                outcome: Outcome::Exit(1)
            }
        );
        assert!(crate::demo::Cli::try_parse_from(["kubelab-demo", "worker", "--exit-code", "300"]).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn prints_then_exits_with_the_asked_status() {
        let mut out = Vec::new();
        let plan = args(&["--exit-after", "3", "--exit-code", "7"]).plan();
        let outcome = run_until(plan, &mut out, std::future::pending()).await;
        assert_eq!(outcome, Outcome::Exit(7));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("worker: tick 3"), "{text}");
        assert!(text.ends_with("exiting with status 7, as asked\n"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn crash_and_sigterm() {
        let mut out = Vec::new();
        assert_eq!(
            run_until(args(&["--crash"]).plan(), &mut out, std::future::pending()).await,
            Outcome::Crash
        );
        let mut out = Vec::new();
        let stop = tokio::time::sleep(Duration::from_millis(2500));
        assert_eq!(run_until(args(&[]).plan(), &mut out, stop).await, Outcome::Exit(0));
        assert!(String::from_utf8(out).unwrap().contains("SIGTERM"));
    }
}

//! # Workers: one single-threaded runtime per thread, the way HAProxy runs its threads
//!
//! Forwarding a request costs the proxy little: a read and a write each way. What the runtime
//! does around that work counts as much as the work. A multi-thread tokio runtime shares its
//! tasks between its threads: one thread waits in `epoll`, the others sleep on a futex; a ready
//! socket wakes its task on one thread, and an idle thread is woken to steal it. Each hand-off
//! is a sleeping thread woken, a context switch and cold caches, paid again and again while
//! bytes flow.
//!
//! The proxy runs N **workers** instead: each is an OS thread with its own single-threaded
//! (`current_thread`) runtime, so its own `epoll`, timers and tasks. Every Service port is
//! opened once per worker on the same address ([`crate::listen`], `SO_REUSEPORT`): the kernel
//! spreads new connections over the workers' sockets, and a connection lives its whole life on
//! the thread that accepted it. Nothing crosses threads while bytes flow; only the choice of a
//! backend, once per connection, asks the balancer, which all workers share so that
//! least-connections counts every open connection.
//!
//! The control work (following the API server, opening ports, the balancer's queue) runs on
//! the runtime that called [`Workers::start`], not on the workers.

use std::future::Future;
use std::io;
use std::thread;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Zero workers were asked for: nothing would forward.
    #[error("the proxy needs at least one forwarding thread")]
    NoThreads,
    /// The operating system refused a thread, or its runtime could not be built.
    #[error("cannot start forwarding thread {index}: {source}")]
    Start { index: usize, source: io::Error },
}

/// The running workers. Dropping this stops them (their tasks are cancelled) and waits for
/// their threads to end.
pub struct Workers {
    workers: Vec<Worker>,
}

struct Worker {
    handle: Handle,
    /// Dropped (or sent) to make the worker's thread leave its runtime.
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` worker threads, named `proxy-worker-<i>`.
    pub fn start(count: usize) -> Result<Workers, WorkerError> {
        if count == 0 {
            return Err(WorkerError::NoThreads);
        }
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            let start = |source| WorkerError::Start { index, source };
            // Sockets and timers only: signals and child processes are the control thread's
            // business, and a driver less is less work each time the thread goes to sleep.
            let runtime = Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(start)?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = thread::Builder::new()
                .name(format!("proxy-worker-{index}"))
                // Runs the tasks spawned through `handle` until told to stop; the runtime is
                // dropped on this thread, which cancels whatever it still runs.
                .spawn(move || {
                    let _ = runtime.block_on(stopped);
                })
                .map_err(start)?;
            workers.push(Worker {
                handle,
                stop: Some(stop),
                thread: Some(thread),
            });
        }
        Ok(Workers { workers })
    }

    /// How many workers run.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Never true: [`Workers::start`] refuses zero workers.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Runs one task on each worker: `tasks` yields as many futures as there are workers
    /// (extra ones are dropped). Returns their handles, to abort them.
    pub fn spawn_each<F>(&self, tasks: impl IntoIterator<Item = F>) -> Vec<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.workers
            .iter()
            .zip(tasks)
            .map(|(worker, task)| worker.handle.spawn(task))
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            if let Some(stop) = worker.stop.take() {
                let _ = stop.send(());
            }
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_workers_is_refused() {
        assert!(matches!(Workers::start(0), Err(WorkerError::NoThreads)));
    }

    #[test]
    fn each_worker_runs_its_task_on_its_own_thread() {
        let workers = Workers::start(3).unwrap();
        assert_eq!(workers.len(), 3);
        let (tx, rx) = std::sync::mpsc::channel();
        let tasks = (0..3).map(|_| {
            let tx = tx.clone();
            async move {
                let name = thread::current().name().map(str::to_string);
                tx.send(name).unwrap();
            }
        });
        workers.spawn_each(tasks);
        let mut names: Vec<_> = (0..3).map(|_| rx.recv().unwrap().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["proxy-worker-0", "proxy-worker-1", "proxy-worker-2"]);
    }

    #[test]
    fn dropping_the_workers_cancels_their_tasks() {
        let workers = Workers::start(2).unwrap();
        // A task that never ends; it owns `held`, which is dropped when the task is cancelled.
        let (held, released) = std::sync::mpsc::channel::<()>();
        let tasks = [async move {
            let _held = held;
            std::future::pending::<()>().await;
        }];
        workers.spawn_each(tasks);
        drop(workers);
        assert!(
            released.recv().is_err(),
            "the task's state was dropped with its runtime"
        );
    }
}

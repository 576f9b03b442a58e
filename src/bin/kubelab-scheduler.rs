//! `kubelab-scheduler`: the scheduler on its own, with the same flags as `kubelab scheduler`.

use clap::Parser;
use kubelab::scheduler_cmd::{self, SchedulerArgs};

#[derive(Parser)]
#[command(name = "kubelab-scheduler", version, about = "The kubelab scheduler")]
struct Cli {
    #[command(flatten)]
    args: SchedulerArgs,
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    scheduler_cmd::run(Cli::parse().args).await
}

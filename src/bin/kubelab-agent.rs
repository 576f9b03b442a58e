//! `kubelab-agent`: a node agent on its own, with the same flags as `kubelab agent`.

use clap::Parser;
use kubelab::agent_cmd::{self, AgentArgs};

#[derive(Parser)]
#[command(name = "kubelab-agent", version, about = "The kubelab node agent (kubelet)")]
struct Cli {
    #[command(flatten)]
    args: AgentArgs,
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    let args = Cli::parse().args;
    agent_cmd::tokio_runtime(&args)?.block_on(agent_cmd::run(args))
}

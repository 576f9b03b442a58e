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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    agent_cmd::run(Cli::parse().args).await
}

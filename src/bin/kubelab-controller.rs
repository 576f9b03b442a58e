//! `kubelab-controller`: the controller manager on its own, with the same flags as
//! `kubelab controller`.

use clap::Parser;
use kubelab::controller_cmd::{self, ControllerArgs};

#[derive(Parser)]
#[command(name = "kubelab-controller", version, about = "The kubelab controller manager")]
struct Cli {
    #[command(flatten)]
    args: ControllerArgs,
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    controller_cmd::run(Cli::parse().args).await
}

//! `kubelab-apiserver`: the API server on its own, with the same flags as `kubelab apiserver`.

use clap::Parser;
use kubelab::apiserver_cmd::{self, ApiserverArgs};

#[derive(Parser)]
#[command(name = "kubelab-apiserver", version, about = "The kubelab API server")]
struct Cli {
    #[command(flatten)]
    args: ApiserverArgs,
}

#[global_allocator]
static GLOBAL: kubelab::Allocator = kubelab::Allocator {};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kubelab::logging::init();
    apiserver_cmd::run(Cli::parse().args).await
}

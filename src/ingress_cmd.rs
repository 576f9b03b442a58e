//! # `kubelab ingress`: the cluster's ingress controller (ingress-nginx's place)
//!
//! Flags → [`kubelab_ingress::Config`]. One process per cluster, on the host: it serves the
//! Ingresses of its class (`kubelab`, created as the cluster's default class if missing) on
//! `127.0.0.1:<--http-port>` and `<--https-port>`, proxying straight to the pods behind each
//! Service. `kubelab up` starts it; by hand:
//!
//! ```text
//! kubelab ingress --cluster demo --apiserver http://127.0.0.1:6443 --http-port 18080 --https-port 18443
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

/// The port `kubelab up` gives plain HTTP unless told otherwise.
pub const DEFAULT_HTTP_PORT: u16 = 18080;
/// The port `kubelab up` gives HTTPS unless told otherwise.
pub const DEFAULT_HTTPS_PORT: u16 = 18443;

/// Flags of the ingress controller.
#[derive(Args, Debug, Clone)]
pub struct IngressArgs {
    /// The cluster this controller serves (for its log; the API server decides what it sees).
    #[arg(long, default_value = "kubelab")]
    pub cluster: String,
    /// URL of the API server.
    #[arg(long, alias = "server", default_value = "http://127.0.0.1:6443")]
    pub apiserver: String,
    /// Plain HTTP is served on 127.0.0.1 at this port.
    #[arg(long, default_value_t = DEFAULT_HTTP_PORT)]
    pub http_port: u16,
    /// HTTPS is served on 127.0.0.1 at this port; 0 serves no HTTPS.
    #[arg(long, default_value_t = DEFAULT_HTTPS_PORT)]
    pub https_port: u16,
    /// The IngressClass served (created as the default class if it does not exist).
    #[arg(long, default_value = kubelab_ingress::DEFAULT_CLASS)]
    pub class: String,
}

/// The controller's configuration from its flags.
pub fn config(args: &IngressArgs) -> kubelab_ingress::Config {
    let local = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    kubelab_ingress::Config {
        apiserver: args.apiserver.clone(),
        class: args.class.clone(),
        http: local(args.http_port),
        https: (args.https_port != 0).then(|| local(args.https_port)),
    }
}

/// Runs the controller until SIGINT/SIGTERM.
pub async fn run(args: IngressArgs) -> anyhow::Result<()> {
    tracing::info!(cluster = %args.cluster, apiserver = %args.apiserver, "starting the ingress controller");
    kubelab_ingress::run(config(&args), crate::shutdown::signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: IngressArgs,
    }

    #[test]
    fn flags_become_loopback_listeners() {
        let cli = Cli::try_parse_from([
            "ingress",
            "--cluster",
            "lab",
            "--http-port",
            "9080",
            "--https-port",
            "0",
        ])
        .unwrap();
        let config = config(&cli.args);
        assert_eq!(config.http.to_string(), "127.0.0.1:9080");
        assert_eq!(config.https, None);
        assert_eq!(config.class, "kubelab");
        let defaults = Cli::try_parse_from(["ingress"]).unwrap();
        assert_eq!(
            config_of(&defaults.args),
            ("127.0.0.1:18080".to_string(), Some("127.0.0.1:18443".to_string()))
        );
    }

    fn config_of(args: &IngressArgs) -> (String, Option<String>) {
        let c = config(args);
        (c.http.to_string(), c.https.map(|a| a.to_string()))
    }
}

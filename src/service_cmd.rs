//! `kubelab service NAME [-n NS] [--url]` (minikube service): the URL of a Service from this
//! machine.
//!
//! A ClusterIP is a virtual address that exists only inside the cluster's network; from the
//! laptop, a Service is reachable through its NodePort, which kubelab publishes on 127.0.0.1 (a
//! real cluster opens it on every node's address). So this prints `http://127.0.0.1:<nodePort>`
//! for each port of a NodePort (or LoadBalancer) Service, and for any other Service says why
//! there is no URL and how to get one.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kubelab_api::core::Service;
use kubelab_client::{Api, Client, Config};

use crate::cluster::ClusterArgs;

/// Flags of `kubelab service`.
#[derive(Args, Debug, Clone)]
pub struct ServiceArgs {
    /// The Service's name.
    pub name: String,
    /// The Service's namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Print only the URLs, one per line (for scripts: `curl $(kubelab service web --url)`).
    #[arg(long)]
    pub url: bool,
    /// A kubeconfig to use instead of the cluster's own (`<home>/kubeconfig`).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Why a Service has no URL.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceCmdError {
    /// No such Service.
    #[error("service \"{name}\" not found in namespace \"{namespace}\"")]
    NotFound { name: String, namespace: String },
    /// The Service is not exposed outside the cluster (no node port).
    #[error(
        "service {namespace}/{name} is not exposed outside the cluster: it is of type {kind}{inside}, which only \
         pods reach.\nTo reach it from this machine, make it a NodePort Service:\n    \
         kubectl patch service {name} -n {namespace} -p '{{\"spec\":{{\"type\":\"NodePort\"}}}}'"
    )]
    NotExposed {
        name: String,
        namespace: String,
        kind: String,
        /// ` (10.96.0.5:80 inside the cluster)`, when it has a ClusterIP.
        inside: String,
    },
}

/// One way in: the service port's name and number, and the URL.
#[derive(Debug, PartialEq, Eq)]
pub struct Way {
    pub port_name: String,
    pub port: i32,
    pub url: String,
}

/// The URLs of a Service from this machine: one per port with a node port.
pub fn ways_in(service: &Service) -> Result<Vec<Way>, ServiceCmdError> {
    let spec = &service.spec;
    let ways: Vec<Way> = spec
        .ports
        .iter()
        .filter_map(|p| {
            p.node_port.filter(|n| *n > 0).map(|node_port| Way {
                port_name: p.name.clone().unwrap_or_default(),
                port: p.port,
                url: format!("http://127.0.0.1:{node_port}"),
            })
        })
        .collect();
    if !ways.is_empty() {
        return Ok(ways);
    }
    let ip = spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None");
    let inside = match (ip, spec.ports.first()) {
        (Some(ip), Some(port)) => format!(" ({ip}:{} inside the cluster)", port.port),
        (Some(ip), None) => format!(" ({ip} inside the cluster)"),
        _ => String::new(),
    };
    let kind = if spec.is_headless() {
        "ClusterIP (headless)".to_string()
    } else {
        spec.type_or_default().to_string()
    };
    Err(ServiceCmdError::NotExposed {
        name: service.metadata.name().to_string(),
        namespace: service.metadata.namespace().to_string(),
        kind,
        inside,
    })
}

/// Runs `kubelab service`.
pub async fn run(args: ServiceArgs) -> anyhow::Result<()> {
    let kubeconfig = match &args.kubeconfig {
        Some(path) => path.clone(),
        None => args.cluster.layout()?.kubeconfig(),
    };
    if !kubeconfig.exists() {
        anyhow::bail!(
            "no kubeconfig at {}: is the cluster up? (`kubelab up{}`)",
            kubeconfig.display(),
            args.cluster.hint_flags()
        );
    }
    let config =
        Config::from_kubeconfig_file(&kubeconfig, None).with_context(|| format!("reading {}", kubeconfig.display()))?;
    let client = Client::new(config).context("building the API client")?;
    let api: Api<Service> = Api::namespaced(client, &args.namespace);
    let service = api
        .get_opt(&args.name)
        .await
        .with_context(|| format!("reading service {}/{}", args.namespace, args.name))?
        .ok_or_else(|| ServiceCmdError::NotFound {
            name: args.name.clone(),
            namespace: args.namespace.clone(),
        })?;
    let ways = ways_in(&service)?;
    if args.url {
        for way in &ways {
            println!("{}", way.url);
        }
        return Ok(());
    }
    println!("{:<12} {:<20} {:<12} URL", "NAMESPACE", "NAME", "PORT");
    for way in &ways {
        let port = if way.port_name.is_empty() {
            way.port.to_string()
        } else {
            format!("{}/{}", way.port_name, way.port)
        };
        println!("{:<12} {:<20} {:<12} {}", args.namespace, args.name, port, way.url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(spec: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})).unwrap()
    }

    #[test]
    fn node_ports_give_one_url_per_port() {
        let svc = service(json!({"type": "NodePort", "clusterIP": "10.96.0.5", "ports": [
            {"name": "http", "port": 80, "nodePort": 30080},
            {"name": "admin", "port": 81, "nodePort": 30081}]}));
        let ways = ways_in(&svc).unwrap();
        let urls: Vec<&str> = ways.iter().map(|w| w.url.as_str()).collect();
        assert_eq!(urls, ["http://127.0.0.1:30080", "http://127.0.0.1:30081"]);
        assert_eq!((ways[1].port_name.as_str(), ways[1].port), ("admin", 81));
    }

    #[test]
    fn cluster_ip_services_are_not_exposed_and_say_how_to_expose_them() {
        let svc = service(json!({"type": "ClusterIP", "clusterIP": "10.96.0.5", "ports": [{"port": 80}]}));
        let message = ways_in(&svc).unwrap_err().to_string();
        assert!(
            message.starts_with("service default/web is not exposed outside the cluster"),
            "{message}"
        );
        assert!(
            message.contains("type ClusterIP (10.96.0.5:80 inside the cluster)"),
            "{message}"
        );
        assert!(message.contains(r#"kubectl patch service web -n default -p '{"spec":{"type":"NodePort"}}'"#));
        let headless = service(json!({"clusterIP": "None", "selector": {"app": "db"}}));
        assert!(ways_in(&headless)
            .unwrap_err()
            .to_string()
            .contains("ClusterIP (headless)"));
    }

    #[test]
    fn not_found_reads_like_kubectl() {
        let err = ServiceCmdError::NotFound {
            name: "x".into(),
            namespace: "default".into(),
        };
        assert_eq!(err.to_string(), "service \"x\" not found in namespace \"default\"");
    }
}

//! Service variables: how a container finds Services without DNS.
//!
//! Before cluster DNS existed, Kubernetes told each container where the Services are through its
//! environment, and the kubelet still does. For every Service with a cluster IP (not headless) in
//! the pod's namespace that exists **when the container starts**, a Service `redis-primary` with
//! `clusterIP 10.0.0.11` and port `6379` (named `tcp-redis`) gives:
//!
//! ```text
//! REDIS_PRIMARY_SERVICE_HOST=10.0.0.11
//! REDIS_PRIMARY_SERVICE_PORT=6379                      the first port
//! REDIS_PRIMARY_SERVICE_PORT_TCP_REDIS=6379            one per named port
//! REDIS_PRIMARY_PORT=tcp://10.0.0.11:6379              Docker links' style, first port
//! REDIS_PRIMARY_PORT_6379_TCP=tcp://10.0.0.11:6379     ... and for every port:
//! REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp
//! REDIS_PRIMARY_PORT_6379_TCP_PORT=6379
//! REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.0.0.11
//! ```
//!
//! Names are upper-cased with `-` turned into `_`. The `kubernetes` Service of the `default`
//! namespace (the API server) is always included, so `KUBERNETES_SERVICE_HOST/PORT` point every
//! pod at the API server; `enableServiceLinks: false` leaves out everything else (a namespace
//! with thousands of Services would otherwise give each container thousands of variables). A
//! Service created after the container started is not in its environment: environments do not
//! change in a running process, which is why DNS is the better way to find Services.

use std::collections::BTreeMap;

use kubelab_api::core::Service;

/// The namespace whose `kubernetes` Service every pod sees.
pub const MASTER_NAMESPACE: &str = "default";
/// The API server's Service.
pub const MASTER_SERVICE: &str = "kubernetes";

/// The variables of `services` (any namespaces; the function picks) for a pod in `namespace`.
pub fn service_env<'a>(
    services: impl IntoIterator<Item = &'a Service>,
    namespace: &str,
    enable_service_links: bool,
) -> Vec<(String, String)> {
    // By name: a Service of the pod's own namespace wins over `default/kubernetes`.
    let mut chosen: BTreeMap<&str, &Service> = BTreeMap::new();
    for service in services {
        if !has_cluster_ip(service) {
            continue;
        }
        let name = service.metadata.name();
        let ns = service.metadata.namespace();
        if ns == MASTER_NAMESPACE && name == MASTER_SERVICE {
            chosen.entry(name).or_insert(service);
        } else if ns == namespace && enable_service_links {
            chosen.insert(name, service);
        }
    }
    chosen.values().flat_map(|s| variables_of(s)).collect()
}

fn has_cluster_ip(service: &Service) -> bool {
    service
        .spec
        .cluster_ip
        .as_deref()
        .is_some_and(|ip| !ip.is_empty() && ip != "None")
}

/// `redis-primary` → `REDIS_PRIMARY`.
pub fn env_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

fn variables_of(service: &Service) -> Vec<(String, String)> {
    let spec = &service.spec;
    let ip = spec.cluster_ip.clone().unwrap_or_default();
    let prefix = env_name(service.metadata.name());
    let mut vars = vec![(format!("{prefix}_SERVICE_HOST"), ip.clone())];
    let Some(first) = spec.ports.first() else {
        return vars;
    };
    vars.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
    for port in &spec.ports {
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            vars.push((
                format!("{prefix}_SERVICE_PORT_{}", env_name(name)),
                port.port.to_string(),
            ));
        }
    }
    for (i, port) in spec.ports.iter().enumerate() {
        let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".into());
        let lower = protocol.to_lowercase();
        let url = format!("{lower}://{ip}:{}", port.port);
        if i == 0 {
            vars.push((format!("{prefix}_PORT"), url.clone()));
        }
        let port_prefix = format!("{prefix}_PORT_{}_{}", port.port, protocol.to_uppercase());
        vars.push((port_prefix.clone(), url));
        vars.push((format!("{port_prefix}_PROTO"), lower));
        vars.push((format!("{port_prefix}_PORT"), port.port.to_string()));
        vars.push((format!("{port_prefix}_ADDR"), ip.clone()));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(ns: &str, name: &str, ip: &str, ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports}
        }))
        .unwrap()
    }

    fn map(vars: &[(String, String)]) -> BTreeMap<&str, &str> {
        vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn a_service_gives_host_port_and_link_variables() {
        let s = service(
            "shop",
            "redis-primary",
            "10.0.0.11",
            json!([{"name": "tcp-redis", "port": 6379}, {"name": "metrics", "port": 9121, "protocol": "UDP"}]),
        );
        let vars = service_env([&s], "shop", true);
        let m = map(&vars);
        assert_eq!(m["REDIS_PRIMARY_SERVICE_HOST"], "10.0.0.11");
        assert_eq!(m["REDIS_PRIMARY_SERVICE_PORT"], "6379");
        assert_eq!(m["REDIS_PRIMARY_SERVICE_PORT_TCP_REDIS"], "6379");
        assert_eq!(m["REDIS_PRIMARY_SERVICE_PORT_METRICS"], "9121");
        assert_eq!(m["REDIS_PRIMARY_PORT"], "tcp://10.0.0.11:6379");
        assert_eq!(m["REDIS_PRIMARY_PORT_6379_TCP"], "tcp://10.0.0.11:6379");
        assert_eq!(m["REDIS_PRIMARY_PORT_6379_TCP_PROTO"], "tcp");
        assert_eq!(m["REDIS_PRIMARY_PORT_6379_TCP_PORT"], "6379");
        assert_eq!(m["REDIS_PRIMARY_PORT_6379_TCP_ADDR"], "10.0.0.11");
        assert_eq!(m["REDIS_PRIMARY_PORT_9121_UDP"], "udp://10.0.0.11:9121");
        assert_eq!(vars.len(), 2 + 2 + 1 + 4 * 2);
    }

    #[test]
    fn only_own_namespace_with_cluster_ips_and_always_kubernetes() {
        let k8s = service(
            "default",
            "kubernetes",
            "10.96.0.1",
            json!([{"name": "https", "port": 443}]),
        );
        let other_ns = service("other", "db", "10.0.0.5", json!([{"port": 5432}]));
        let headless = service("shop", "web-headless", "None", json!([{"port": 80}]));
        let web = service("shop", "web", "10.0.0.7", json!([{"port": 80}]));
        let all = [&k8s, &other_ns, &headless, &web];
        let m: BTreeMap<String, String> = service_env(all, "shop", true).into_iter().collect();
        assert_eq!(m["KUBERNETES_SERVICE_HOST"], "10.96.0.1");
        assert_eq!(m["KUBERNETES_SERVICE_PORT"], "443");
        assert_eq!(m["KUBERNETES_SERVICE_PORT_HTTPS"], "443");
        assert_eq!(m["WEB_SERVICE_HOST"], "10.0.0.7");
        assert!(!m.contains_key("DB_SERVICE_HOST"));
        assert!(!m.contains_key("WEB_HEADLESS_SERVICE_HOST"));

        let off: BTreeMap<String, String> = service_env(all, "shop", false).into_iter().collect();
        assert!(off.contains_key("KUBERNETES_SERVICE_HOST"));
        assert!(!off.contains_key("WEB_SERVICE_HOST"));
    }

    #[test]
    fn nothing_without_services_and_own_kubernetes_wins() {
        assert!(service_env([], "default", true).is_empty());
        let master = service("default", "kubernetes", "10.96.0.1", json!([{"port": 443}]));
        let own = service("shop", "kubernetes", "10.0.0.9", json!([{"port": 80}]));
        let m: BTreeMap<String, String> = service_env([&master, &own], "shop", true).into_iter().collect();
        assert_eq!(m["KUBERNETES_SERVICE_HOST"], "10.0.0.9");
    }
}

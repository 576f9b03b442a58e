//! What one Service holds and asks for: pure functions over its JSON, so every rule is tested
//! without a store.
//!
//! - [`held`]: the ClusterIP and NodePorts a stored Service occupies;
//! - [`prepare_update`]: what kube-apiserver does to an update before it validates it: a field
//!   the new type no longer uses is dropped (`NodePort` → `ClusterIP` drops the node ports), and
//!   allocated values the client left out are copied from the stored object (a `kubectl apply`
//!   of a manifest without `clusterIP` keeps the IP instead of asking for a new one);
//! - [`allocate`]: fills in what the Service needs and lacks, checks what it asks for, with
//!   Kubernetes' error messages.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use kubelab_api::validation::{FieldError, Verbatim};
use serde_json::{json, Value};

use super::range::{Band, Ipv4Cidr, PortRange};

/// Why a Service cannot have what it needs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocError {
    /// The Service asks for a value that is taken, outside the range, or malformed (422).
    #[error("{0}")]
    Invalid(FieldError),
    /// Nothing is left to hand out (Kubernetes answers 500 with this message).
    #[error("{0}")]
    Full(String),
}

/// Values in use by other Services: IPv4 addresses as `u32`, node ports.
#[derive(Clone, Debug, Default)]
pub struct Taken {
    pub ips: HashSet<u32>,
    pub ports: HashSet<u32>,
}

impl Taken {
    /// Adds what `service` holds.
    pub fn add(&mut self, service: &Value) {
        let held = held(service);
        if let Some(ip) = held.ip {
            self.ips.insert(u32::from(ip));
        }
        self.ports.extend(held.node_ports.iter().copied());
    }
}

/// What a stored Service occupies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub ip: Option<Ipv4Addr>,
    pub node_ports: Vec<u32>,
}

fn spec_type(service: &Value) -> &str {
    match service.pointer("/spec/type").and_then(Value::as_str) {
        None | Some("") => "ClusterIP",
        Some(kind) => kind,
    }
}

/// Every type but ExternalName has a virtual IP (or is headless).
pub fn needs_cluster_ip(service: &Value) -> bool {
    spec_type(service) != "ExternalName"
}

/// NodePort Services, and LoadBalancers unless `allocateLoadBalancerNodePorts: false`.
pub fn needs_node_ports(service: &Value) -> bool {
    match spec_type(service) {
        "NodePort" => true,
        "LoadBalancer" => {
            service
                .pointer("/spec/allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false)
        }
        _ => false,
    }
}

fn text<'a>(service: &'a Value, pointer: &str) -> &'a str {
    service.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The requested ClusterIP: `clusterIP`, else `clusterIPs[0]`, else empty.
fn requested_ip(service: &Value) -> &str {
    match text(service, "/spec/clusterIP") {
        "" => text(service, "/spec/clusterIPs/0"),
        ip => ip,
    }
}

fn ports(service: &Value) -> &[Value] {
    service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn node_port(port: &Value) -> i64 {
    port.get("nodePort").and_then(Value::as_i64).unwrap_or(0)
}

/// The ClusterIP and NodePorts `service` occupies (a headless one holds no IP).
pub fn held(service: &Value) -> Held {
    let ip = if needs_cluster_ip(service) {
        requested_ip(service).parse::<Ipv4Addr>().ok()
    } else {
        None
    };
    let mut node_ports: Vec<u32> = ports(service)
        .iter()
        .map(node_port)
        .filter_map(|p| u32::try_from(p).ok().filter(|p| *p > 0))
        .collect();
    node_ports.sort_unstable();
    node_ports.dedup();
    Held { ip, node_ports }
}

/// Drops fields the new type does not use and copies allocated values the client left out, as
/// kube-apiserver's `dropTypeDependentFields` and `patchAllocatedValues` do.
pub fn prepare_update(old: &Value, new: &mut Value) {
    if !new.get("spec").is_some_and(Value::is_object) {
        return;
    }
    let old_held = held(old);
    // The type changed to one without a virtual IP, and the client did not touch the IP: drop it.
    if needs_cluster_ip(old) && !needs_cluster_ip(new) {
        let ip = requested_ip(new);
        if ip.is_empty() || ip == requested_ip(old) {
            if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
                for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                    spec.remove(field);
                }
            }
        }
    }
    // Node ports the new type does not use, unchanged from the stored ones: drop them.
    if needs_node_ports(old) && !needs_node_ports(new) {
        let unchanged = ports(new)
            .iter()
            .map(node_port)
            .all(|p| p == 0 || u32::try_from(p).is_ok_and(|p| old_held.node_ports.contains(&p)));
        if unchanged {
            for_each_port(new, |port| {
                port.remove("nodePort");
            });
        }
    }
    if needs_cluster_ip(old) && needs_cluster_ip(new) {
        let old_ip = text(old, "/spec/clusterIP").to_string();
        let old_ips = old.pointer("/spec/clusterIPs").cloned();
        if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
            if spec.get("clusterIP").and_then(Value::as_str).is_none_or(str::is_empty) && !old_ip.is_empty() {
                spec.insert("clusterIP".into(), json!(old_ip));
            }
            let empty = spec
                .get("clusterIPs")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if empty {
                if let Some(ips) = old_ips.filter(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
                    spec.insert("clusterIPs".into(), ips);
                }
            }
        }
    }
    if needs_node_ports(old) && needs_node_ports(new) {
        // Node ports both versions name can be neither patched in nor moved.
        let new_held: HashSet<u32> = held(new).node_ports.into_iter().collect();
        let used: HashSet<u32> = old_held
            .node_ports
            .iter()
            .copied()
            .filter(|p| new_held.contains(p))
            .collect();
        let by_name: BTreeMap<String, i64> = ports(old)
            .iter()
            .map(|p| (text(p, "/name").to_string(), node_port(p)))
            .collect();
        for_each_port(new, |port| {
            let name = port.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let missing = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0;
            if let Some(old) = by_name.get(&name).copied().filter(|p| *p > 0) {
                if missing && !u32::try_from(old).is_ok_and(|p| used.contains(&p)) {
                    port.insert("nodePort".into(), json!(old));
                }
            }
        });
    }
}

fn for_each_port(service: &mut Value, mut f: impl FnMut(&mut serde_json::Map<String, Value>)) {
    if let Some(list) = service.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for port in list.iter_mut().filter_map(Value::as_object_mut) {
            f(port);
        }
    }
}

/// Gives `service` the ClusterIP and NodePorts it needs. `old` is the stored version for an
/// update (what it already holds stays its own); `taken` is what the other Services hold.
pub fn allocate(
    service: &mut Value,
    old: Option<&Value>,
    cidr: &Ipv4Cidr,
    node_ports: &PortRange,
    taken: &Taken,
    seed: u64,
) -> Result<(), AllocError> {
    let old_held = old.map(held).unwrap_or_default();
    if needs_cluster_ip(service) {
        allocate_ip(service, old_held.ip, cidr, taken, seed)?;
    }
    if needs_node_ports(service) {
        allocate_node_ports(service, &old_held.node_ports, node_ports, taken, seed)?;
    }
    Ok(())
}

fn allocate_ip(
    service: &mut Value,
    old_ip: Option<Ipv4Addr>,
    cidr: &Ipv4Cidr,
    taken: &Taken,
    seed: u64,
) -> Result<(), AllocError> {
    if let Some(family) = service
        .pointer("/spec/ipFamilies/0")
        .and_then(Value::as_str)
        .filter(|f| *f != "IPv4")
    {
        return Err(AllocError::Invalid(FieldError::invalid(
            "spec.ipFamilies[0]",
            family,
            "not configured on this cluster",
        )));
    }
    let ip_field = text(service, "/spec/clusterIP").to_string();
    let first = text(service, "/spec/clusterIPs/0").to_string();
    if !ip_field.is_empty() && !first.is_empty() && ip_field != first {
        return Err(AllocError::Invalid(FieldError::invalid(
            "spec.clusterIPs[0]",
            first,
            "must match `spec.clusterIP`",
        )));
    }
    let requested = requested_ip(service).to_string();
    if requested == "None" {
        return Ok(());
    }
    let band = Band::of_cidr(cidr);
    let ip = if requested.is_empty() {
        let value = band
            .pick(&taken.ips, seed)
            .ok_or_else(|| AllocError::Full("failed to allocate a serviceIP: range is full".into()))?;
        Ipv4Addr::from(value)
    } else {
        let invalid = |detail: String| {
            AllocError::Invalid(FieldError::invalid(
                "spec.clusterIPs",
                Verbatim(format!("[]string{{{requested:?}}}")),
                format!("failed to allocate IP {requested}: {detail}"),
            ))
        };
        let not_in_range = || {
            invalid(format!(
                "the provided IP ({requested}) is not in the valid range. The range of valid IPs is {cidr}"
            ))
        };
        let ip: Ipv4Addr = requested.parse().map_err(|_| not_in_range())?;
        let offset = u32::from(ip).wrapping_sub(band.base);
        if u32::from(ip) < band.base || offset >= band.size {
            return Err(not_in_range());
        }
        if Some(ip) != old_ip && taken.ips.contains(&u32::from(ip)) {
            return Err(invalid("provided IP is already allocated".into()));
        }
        ip
    };
    if let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("clusterIP".into(), json!(ip.to_string()));
        spec.insert("clusterIPs".into(), json!([ip.to_string()]));
    }
    Ok(())
}

fn allocate_node_ports(
    service: &mut Value,
    old_ports: &[u32],
    range: &PortRange,
    taken: &Taken,
    seed: u64,
) -> Result<(), AllocError> {
    let band = Band::of_ports(range);
    let list: Vec<(i64, i64)> = ports(service)
        .iter()
        .map(|p| (p.get("port").and_then(Value::as_i64).unwrap_or(0), node_port(p)))
        .collect();
    // Ports with the same number share one node port (TCP and UDP 53, say), as in Kubernetes.
    let mut by_port: BTreeMap<i64, u32> = BTreeMap::new();
    // Node ports this Service names itself are never handed to its other ports.
    let named_here: HashSet<u32> = list
        .iter()
        .filter_map(|(_, n)| u32::try_from(*n).ok().filter(|n| *n != 0))
        .collect();
    let mut mine: HashSet<u32> = HashSet::new();
    let mut chosen = Vec::with_capacity(list.len());
    for (i, (port, requested)) in list.iter().copied().enumerate() {
        let requested = if requested != 0 {
            requested
        } else if let Some(shared) = by_port.get(&port) {
            i64::from(*shared)
        } else {
            // A later port with the same number may name the node port to share.
            list[i + 1..]
                .iter()
                .find(|(p, n)| *p == port && *n != 0)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        let value = if requested == 0 {
            let mut busy = taken.ports.clone();
            busy.extend(mine.iter().copied());
            busy.extend(named_here.iter().copied());
            band.pick(&busy, seed.wrapping_add(i as u64))
                .ok_or_else(|| AllocError::Full("failed to allocate a nodePort: range is full".into()))?
        } else {
            let field = format!("spec.ports[{i}].nodePort");
            if !range.contains(requested) {
                return Err(AllocError::Invalid(FieldError::invalid(
                    field,
                    requested,
                    format!("provided port is not in the valid range. The range of valid ports is {range}"),
                )));
            }
            let value = requested as u32;
            let ours = old_ports.contains(&value) || mine.contains(&value);
            if !ours && taken.ports.contains(&value) {
                return Err(AllocError::Invalid(FieldError::invalid(
                    field,
                    requested,
                    "provided port is already allocated",
                )));
            }
            value
        };
        by_port.entry(port).or_insert(value);
        mine.insert(value);
        chosen.push(value);
    }
    let mut chosen = chosen.into_iter();
    for_each_port(service, |port| {
        if let Some(value) = chosen.next() {
            port.insert("nodePort".into(), json!(value));
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr() -> Ipv4Cidr {
        "10.96.0.0/29".parse().unwrap()
    }

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": spec})
    }

    fn alloc(service: &mut Value, old: Option<&Value>, taken: &Taken) -> Result<(), AllocError> {
        allocate(service, old, &cidr(), &PortRange::default(), taken, 1)
    }

    fn message(err: AllocError) -> String {
        match err {
            AllocError::Invalid(e) => e.to_string(),
            AllocError::Full(m) => m,
        }
    }

    #[test]
    fn a_cluster_ip_is_picked_and_mirrored_in_cluster_ips() {
        let mut s = svc(json!({"ports": [{"port": 80}]}));
        alloc(&mut s, None, &Taken::default()).unwrap();
        let ip: Ipv4Addr = s["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(cidr().contains(ip) && ip != Ipv4Addr::new(10, 96, 0, 0) && ip != Ipv4Addr::new(10, 96, 0, 7));
        assert_eq!(s["spec"]["clusterIPs"], json!([ip.to_string()]));
        assert!(
            s["spec"]["ports"][0].get("nodePort").is_none(),
            "ClusterIP: no node port"
        );
    }

    #[test]
    fn headless_and_external_name_get_nothing() {
        let mut headless = svc(json!({"clusterIP": "None", "ports": [{"port": 80}]}));
        alloc(&mut headless, None, &Taken::default()).unwrap();
        assert_eq!(headless["spec"]["clusterIP"], "None");
        assert_eq!(held(&headless), Held::default());
        let mut external = svc(json!({"type": "ExternalName", "externalName": "example.com"}));
        alloc(&mut external, None, &Taken::default()).unwrap();
        assert!(external["spec"].get("clusterIP").is_none());
    }

    #[test]
    fn explicit_ips_are_honoured_if_free_and_refused_with_kubernetes_words() {
        let mut taken = Taken::default();
        taken.ips.insert(u32::from(Ipv4Addr::new(10, 96, 0, 3)));
        let mut free = svc(json!({"clusterIP": "10.96.0.4", "ports": [{"port": 80}]}));
        alloc(&mut free, None, &taken).unwrap();
        assert_eq!(free["spec"]["clusterIPs"], json!(["10.96.0.4"]));

        let mut busy = svc(json!({"clusterIP": "10.96.0.3", "ports": [{"port": 80}]}));
        assert_eq!(
            message(alloc(&mut busy, None, &taken).unwrap_err()),
            "spec.clusterIPs: Invalid value: []string{\"10.96.0.3\"}: failed to allocate IP 10.96.0.3: provided IP is already allocated"
        );
        for outside in ["10.96.0.9", "10.96.0.0", "10.96.0.7", "fd00::1"] {
            let mut s = svc(json!({"clusterIP": outside, "ports": [{"port": 80}]}));
            let text = message(alloc(&mut s, None, &taken).unwrap_err());
            assert!(
                text.starts_with("spec.clusterIPs: Invalid value:")
                    && text.ends_with(&format!(
                        "the provided IP ({outside}) is not in the valid range. The range of valid IPs is 10.96.0.0/29"
                    )),
                "{text}"
            );
        }
        // Its own IP is not "taken" on update.
        let old = svc(json!({"clusterIP": "10.96.0.3", "clusterIPs": ["10.96.0.3"]}));
        let mut same = old.clone();
        alloc(&mut same, Some(&old), &taken).unwrap();
    }

    #[test]
    fn a_full_range_says_so() {
        let mut taken = Taken::default();
        for last in 1..=6u8 {
            taken.ips.insert(u32::from(Ipv4Addr::new(10, 96, 0, last)));
        }
        let mut s = svc(json!({"ports": [{"port": 80}]}));
        assert_eq!(
            alloc(&mut s, None, &taken).unwrap_err(),
            AllocError::Full("failed to allocate a serviceIP: range is full".into())
        );
    }

    #[test]
    fn a_node_port_a_later_port_names_is_not_picked_for_an_earlier_one() {
        let range: PortRange = "30000-30001".parse().unwrap();
        for seed in 0..8 {
            let mut s = svc(json!({"type": "NodePort", "ports": [
                {"name": "http", "port": 80},
                {"name": "admin", "port": 81, "nodePort": 30000},
            ]}));
            allocate(&mut s, None, &cidr(), &range, &Taken::default(), seed).unwrap();
            assert_eq!(s["spec"]["ports"][0]["nodePort"], 30001, "seed {seed}");
            assert_eq!(s["spec"]["ports"][1]["nodePort"], 30000);
        }
    }

    #[test]
    fn node_ports_are_allocated_shared_by_port_number_and_checked() {
        let mut s = svc(json!({"type": "NodePort", "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            {"name": "web", "port": 80, "nodePort": 30080},
        ]}));
        let mut taken = Taken::default();
        taken.ports.insert(30081);
        alloc(&mut s, None, &taken).unwrap();
        let p = |i: usize| s["spec"]["ports"][i]["nodePort"].as_u64().unwrap();
        assert_eq!(p(0), p(1));
        assert_eq!(p(2), 30080);
        assert!((30000..=32767).contains(&p(0)) && p(0) != 30080 && p(0) != 30081);

        let mut clash = svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30081}]}));
        assert_eq!(
            message(alloc(&mut clash, None, &taken).unwrap_err()),
            "spec.ports[0].nodePort: Invalid value: 30081: provided port is already allocated"
        );
        let mut outside = svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 8080}]}));
        assert_eq!(
            message(alloc(&mut outside, None, &taken).unwrap_err()),
            "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"
        );
        let range = PortRange {
            low: 30000,
            high: 30000,
        };
        let mut full = svc(json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}));
        let err = allocate(&mut full, None, &cidr(), &range, &Taken::default(), 0).unwrap_err();
        assert_eq!(
            err,
            AllocError::Full("failed to allocate a nodePort: range is full".into())
        );
    }

    #[test]
    fn updates_keep_what_was_allocated_and_drop_what_the_type_no_longer_uses() {
        let old = svc(
            json!({"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
            "ports": [{"name": "web", "port": 80, "nodePort": 30080}]}),
        );
        // A whole new object without the allocated values: they are patched in.
        let mut put = svc(json!({"type": "NodePort", "ports": [{"name": "web", "port": 80}]}));
        prepare_update(&old, &mut put);
        assert_eq!(put["spec"]["clusterIP"], "10.96.0.5");
        assert_eq!(put["spec"]["clusterIPs"], json!(["10.96.0.5"]));
        assert_eq!(put["spec"]["ports"][0]["nodePort"], 30080);
        let mut taken = Taken::default();
        taken.ports.insert(30080); // as if another service held it: ours anyway
        alloc(&mut put, Some(&old), &taken).unwrap();
        assert_eq!(put["spec"]["ports"][0]["nodePort"], 30080);

        // NodePort -> ClusterIP drops the unchanged node ports, keeps the IP.
        let mut back = old.clone();
        back["spec"]["type"] = json!("ClusterIP");
        prepare_update(&old, &mut back);
        assert!(back["spec"]["ports"][0].get("nodePort").is_none());
        assert_eq!(back["spec"]["clusterIP"], "10.96.0.5");

        // -> ExternalName drops the IP.
        let mut external = old.clone();
        external["spec"]["type"] = json!("ExternalName");
        prepare_update(&old, &mut external);
        assert!(external["spec"].get("clusterIP").is_none() && external["spec"].get("clusterIPs").is_none());

        // ClusterIP -> NodePort allocates node ports on update.
        let cluster_ip = svc(json!({"clusterIP": "10.96.0.5", "ports": [{"port": 80}]}));
        let mut upgraded = cluster_ip.clone();
        upgraded["spec"]["type"] = json!("NodePort");
        prepare_update(&cluster_ip, &mut upgraded);
        alloc(&mut upgraded, Some(&cluster_ip), &Taken::default()).unwrap();
        assert!(upgraded["spec"]["ports"][0]["nodePort"].as_u64().is_some());
    }

    #[test]
    fn held_reads_ip_and_node_ports() {
        let s = svc(json!({"type": "LoadBalancer", "clusterIP": "10.96.0.2",
            "ports": [{"port": 80, "nodePort": 30001}, {"port": 81, "nodePort": 30001}]}));
        assert_eq!(
            held(&s),
            Held {
                ip: Some(Ipv4Addr::new(10, 96, 0, 2)),
                node_ports: vec![30001]
            }
        );
        let mut no_lb_ports = s.clone();
        no_lb_ports["spec"]["allocateLoadBalancerNodePorts"] = json!(false);
        assert!(!needs_node_ports(&no_lb_ports));
    }
}

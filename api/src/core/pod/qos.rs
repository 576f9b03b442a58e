//! A pod's quality-of-service class, from its containers' requests and limits.
//!
//! Kubernetes sorts pods into three classes, and the node evicts the lowest first when memory
//! runs short:
//! - **Guaranteed**: every container has cpu and memory limits, and its requests equal them;
//! - **BestEffort**: no container asks for or limits cpu or memory at all;
//! - **Burstable**: everything in between.

use super::{Container, PodSpec, ResourceList};

const TRACKED: [&str; 2] = ["cpu", "memory"];

/// `Guaranteed`, `Burstable` or `BestEffort`.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let containers: Vec<&Container> = spec.init_containers.iter().chain(&spec.containers).collect();
    let empty = ResourceList::new();
    let requests = |c: &Container| c.resources.as_ref().map_or(&empty, |r| &r.requests).clone();
    let limits = |c: &Container| c.resources.as_ref().map_or(&empty, |r| &r.limits).clone();
    let mentions_any = |c: &&Container| {
        TRACKED
            .iter()
            .any(|r| requests(c).contains_key(*r) || limits(c).contains_key(*r))
    };
    if !containers.iter().any(mentions_any) {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let (limits, requests) = (limits(c), requests(c));
        TRACKED.iter().all(|r| match (limits.get(*r), requests.get(*r)) {
            (Some(limit), Some(request)) => limit.millis().ok() == request.millis().ok(),
            // A limit without a request: defaulting makes the request equal to the limit.
            (Some(_), None) => true,
            _ => false,
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;

    fn container(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Container {
        let mut c = Container {
            name: "c".into(),
            ..Default::default()
        };
        let resources = c.resources.get_or_insert_with(Default::default);
        for (k, v) in requests {
            resources.requests.insert(k.to_string(), Quantity::new(*v));
        }
        for (k, v) in limits {
            resources.limits.insert(k.to_string(), Quantity::new(*v));
        }
        c
    }

    #[test]
    fn classes_follow_requests_and_limits() {
        let spec = |c: Container| PodSpec {
            containers: vec![c],
            ..Default::default()
        };
        assert_eq!(qos_class(&spec(container(&[], &[]))), "BestEffort");
        assert_eq!(qos_class(&spec(container(&[("cpu", "100m")], &[]))), "Burstable");
        let both = [("cpu", "500m"), ("memory", "128Mi")];
        assert_eq!(qos_class(&spec(container(&both, &both))), "Guaranteed");
        assert_eq!(qos_class(&spec(container(&[], &both))), "Guaranteed");
        assert_eq!(
            qos_class(&spec(container(&[("cpu", "0.5"), ("memory", "128Mi")], &both))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&spec(container(&[("cpu", "100m"), ("memory", "128Mi")], &both))),
            "Burstable"
        );
    }
}

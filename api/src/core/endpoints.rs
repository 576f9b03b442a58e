//! Endpoints: the addresses behind a Service, kept up to date by the endpoints controller.
//!
//! For each Service with a selector, the controller lists matching pods and writes their IPs
//! here: ready pods under `addresses`, the others under `notReadyAddresses`. The service proxy
//! and DNS read this object, never the pods themselves.

use serde::{Deserialize, Serialize};

use crate::core::reference::ObjectReference;
use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_object_meta, validate_object_meta_update, validate_port, validate_protocol, FieldError,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsets: Vec<EndpointSubset>,
}

/// A set of addresses that all serve the same ports.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointSubset {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<EndpointAddress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_ready_addresses: Vec<EndpointAddress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointPort>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointAddress {
    pub ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The pod behind this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<ObjectReference>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointPort {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub port: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

impl Object for Endpoints {
    object_identity!("", "v1", "Endpoints", "endpoints", namespaced);

    fn set_defaults(&mut self) {
        for port in self.subsets.iter_mut().flat_map(|s| &mut s.ports) {
            if port.protocol.as_deref().is_none_or(str::is_empty) {
                port.protocol = Some("TCP".into());
            }
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        for (i, subset) in self.subsets.iter().enumerate() {
            let path = format!("subsets[{i}]");
            if subset.addresses.is_empty() && subset.not_ready_addresses.is_empty() {
                errs.push(FieldError {
                    detail: "must specify `addresses` or `notReadyAddresses`".into(),
                    ..FieldError::required(&path)
                });
            }
            for (field, list) in [
                ("addresses", &subset.addresses),
                ("notReadyAddresses", &subset.not_ready_addresses),
            ] {
                for (j, address) in list.iter().enumerate() {
                    let apath = format!("{path}.{field}[{j}]");
                    if address.ip.parse::<std::net::IpAddr>().is_err() {
                        errs.push(FieldError::invalid(
                            format!("{apath}.ip"),
                            &address.ip,
                            "must be a valid IP address",
                        ));
                    }
                    if let Some(hostname) = &address.hostname {
                        errs.extend(invalid_each(
                            &format!("{apath}.hostname"),
                            hostname,
                            names::dns1123_label(hostname),
                        ));
                    }
                }
            }
            for (j, port) in subset.ports.iter().enumerate() {
                let ppath = format!("{path}.ports[{j}]");
                if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
                    errs.extend(invalid_each(&format!("{ppath}.name"), name, names::dns1123_label(name)));
                } else if subset.ports.len() > 1 {
                    errs.push(FieldError::required(format!("{ppath}.name")));
                }
                errs.extend(validate_port(&format!("{ppath}.port"), port.port));
                errs.extend(validate_protocol(
                    &format!("{ppath}.protocol"),
                    port.protocol.as_deref(),
                ));
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs
    }
}

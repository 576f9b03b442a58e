//! `core.v1` messages other than the pod's: Secret, ConfigMap, Namespace and Service.

use super::meta::OBJECT_META;
use super::{field, list, pointer, Message, Type};

pub static SECRET: Message = Message {
    name: "core.v1.Secret",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "data", Type::Map(&Type::Bytes)),
        field(3, "type", Type::String),
        field(4, "stringData", Type::Map(&Type::String)),
        pointer(5, "immutable", Type::Bool),
    ],
};

pub static CONFIG_MAP: Message = Message {
    name: "core.v1.ConfigMap",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "data", Type::Map(&Type::String)),
        field(3, "binaryData", Type::Map(&Type::Bytes)),
        pointer(4, "immutable", Type::Bool),
    ],
};

pub static NAMESPACE: Message = Message {
    name: "core.v1.Namespace",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "spec", Type::Message(&NAMESPACE_SPEC)),
        field(3, "status", Type::Message(&NAMESPACE_STATUS)),
    ],
};

static NAMESPACE_SPEC: Message = Message {
    name: "core.v1.NamespaceSpec",
    fields: &[list(1, "finalizers", Type::String)],
};

static NAMESPACE_STATUS: Message = Message {
    name: "core.v1.NamespaceStatus",
    fields: &[
        field(1, "phase", Type::String),
        list(2, "conditions", Type::Message(&NAMESPACE_CONDITION)),
    ],
};

static NAMESPACE_CONDITION: Message = Message {
    name: "core.v1.NamespaceCondition",
    fields: &[
        field(1, "type", Type::String),
        field(2, "status", Type::String),
        field(4, "lastTransitionTime", Type::Time),
        field(5, "reason", Type::String),
        field(6, "message", Type::String),
    ],
};

pub static SERVICE: Message = Message {
    name: "core.v1.Service",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "spec", Type::Message(&SERVICE_SPEC)),
        field(3, "status", Type::Message(&SERVICE_STATUS)),
    ],
};

static SERVICE_SPEC: Message = Message {
    name: "core.v1.ServiceSpec",
    fields: &[
        list(1, "ports", Type::Message(&SERVICE_PORT)),
        field(2, "selector", Type::Map(&Type::String)),
        field(3, "clusterIP", Type::String),
        field(4, "type", Type::String),
        list(5, "externalIPs", Type::String),
        field(7, "sessionAffinity", Type::String),
        field(8, "loadBalancerIP", Type::String),
        list(9, "loadBalancerSourceRanges", Type::String),
        field(10, "externalName", Type::String),
        field(11, "externalTrafficPolicy", Type::String),
        field(12, "healthCheckNodePort", Type::Int32),
        field(13, "publishNotReadyAddresses", Type::Bool),
        pointer(14, "sessionAffinityConfig", Type::Message(&SESSION_AFFINITY_CONFIG)),
        pointer(17, "ipFamilyPolicy", Type::String),
        list(18, "clusterIPs", Type::String),
        list(19, "ipFamilies", Type::String),
        pointer(20, "allocateLoadBalancerNodePorts", Type::Bool),
        pointer(21, "loadBalancerClass", Type::String),
        pointer(22, "internalTrafficPolicy", Type::String),
        pointer(23, "trafficDistribution", Type::String),
    ],
};

static SERVICE_PORT: Message = Message {
    name: "core.v1.ServicePort",
    fields: &[
        field(1, "name", Type::String),
        field(2, "protocol", Type::String),
        field(3, "port", Type::Int32),
        field(4, "targetPort", Type::IntOrString),
        field(5, "nodePort", Type::Int32),
        pointer(6, "appProtocol", Type::String),
    ],
};

static SESSION_AFFINITY_CONFIG: Message = Message {
    name: "core.v1.SessionAffinityConfig",
    fields: &[pointer(1, "clientIP", Type::Message(&CLIENT_IP_CONFIG))],
};

static CLIENT_IP_CONFIG: Message = Message {
    name: "core.v1.ClientIPConfig",
    fields: &[pointer(1, "timeoutSeconds", Type::Int32)],
};

static SERVICE_STATUS: Message = Message {
    name: "core.v1.ServiceStatus",
    fields: &[field(1, "loadBalancer", Type::Message(&LOAD_BALANCER_STATUS))],
};

static LOAD_BALANCER_STATUS: Message = Message {
    name: "core.v1.LoadBalancerStatus",
    fields: &[list(1, "ingress", Type::Message(&LOAD_BALANCER_INGRESS))],
};

static LOAD_BALANCER_INGRESS: Message = Message {
    name: "core.v1.LoadBalancerIngress",
    fields: &[
        field(1, "ip", Type::String),
        field(2, "hostname", Type::String),
        pointer(3, "ipMode", Type::String),
        list(4, "ports", Type::Message(&PORT_STATUS)),
    ],
};

pub static PORT_STATUS: Message = Message {
    name: "core.v1.PortStatus",
    fields: &[
        field(1, "port", Type::Int32),
        field(2, "protocol", Type::String),
        pointer(3, "error", Type::String),
    ],
};

//! `networking.v1` messages: the Ingress.

use super::core::PORT_STATUS;
use super::meta::OBJECT_META;
use super::{field, inline, list, pointer, Message, Type};

pub static INGRESS: Message = Message {
    name: "networking.v1.Ingress",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "spec", Type::Message(&INGRESS_SPEC)),
        field(3, "status", Type::Message(&INGRESS_STATUS)),
    ],
};

static INGRESS_SPEC: Message = Message {
    name: "networking.v1.IngressSpec",
    fields: &[
        pointer(1, "defaultBackend", Type::Message(&INGRESS_BACKEND)),
        list(2, "tls", Type::Message(&INGRESS_TLS)),
        list(3, "rules", Type::Message(&INGRESS_RULE)),
        pointer(4, "ingressClassName", Type::String),
    ],
};

static INGRESS_BACKEND: Message = Message {
    name: "networking.v1.IngressBackend",
    fields: &[
        pointer(3, "resource", Type::Message(&TYPED_LOCAL_OBJECT_REFERENCE)),
        pointer(4, "service", Type::Message(&INGRESS_SERVICE_BACKEND)),
    ],
};

static TYPED_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "core.v1.TypedLocalObjectReference",
    fields: &[
        pointer(1, "apiGroup", Type::String),
        field(2, "kind", Type::String),
        field(3, "name", Type::String),
    ],
};

static INGRESS_SERVICE_BACKEND: Message = Message {
    name: "networking.v1.IngressServiceBackend",
    fields: &[
        field(1, "name", Type::String),
        field(2, "port", Type::Message(&SERVICE_BACKEND_PORT)),
    ],
};

static SERVICE_BACKEND_PORT: Message = Message {
    name: "networking.v1.ServiceBackendPort",
    fields: &[field(1, "name", Type::String), field(2, "number", Type::Int32)],
};

static INGRESS_TLS: Message = Message {
    name: "networking.v1.IngressTLS",
    fields: &[list(1, "hosts", Type::String), field(2, "secretName", Type::String)],
};

static INGRESS_RULE: Message = Message {
    name: "networking.v1.IngressRule",
    fields: &[field(1, "host", Type::String), inline(2, &INGRESS_RULE_VALUE)],
};

static INGRESS_RULE_VALUE: Message = Message {
    name: "networking.v1.IngressRuleValue",
    fields: &[pointer(1, "http", Type::Message(&HTTP_INGRESS_RULE_VALUE))],
};

static HTTP_INGRESS_RULE_VALUE: Message = Message {
    name: "networking.v1.HTTPIngressRuleValue",
    fields: &[list(1, "paths", Type::Message(&HTTP_INGRESS_PATH))],
};

static HTTP_INGRESS_PATH: Message = Message {
    name: "networking.v1.HTTPIngressPath",
    fields: &[
        field(1, "path", Type::String),
        field(2, "backend", Type::Message(&INGRESS_BACKEND)),
        pointer(3, "pathType", Type::String),
    ],
};

static INGRESS_STATUS: Message = Message {
    name: "networking.v1.IngressStatus",
    fields: &[field(1, "loadBalancer", Type::Message(&INGRESS_LOAD_BALANCER_STATUS))],
};

static INGRESS_LOAD_BALANCER_STATUS: Message = Message {
    name: "networking.v1.IngressLoadBalancerStatus",
    fields: &[list(1, "ingress", Type::Message(&INGRESS_LOAD_BALANCER_INGRESS))],
};

static INGRESS_LOAD_BALANCER_INGRESS: Message = Message {
    name: "networking.v1.IngressLoadBalancerIngress",
    fields: &[
        field(1, "ip", Type::String),
        field(2, "hostname", Type::String),
        list(4, "ports", Type::Message(&PORT_STATUS)),
    ],
};

//! The `networking.k8s.io` API group: how traffic from outside reaches Services.
//!
//! | kind | what it is for |
//! | --- | --- |
//! | [`Ingress`] | HTTP(S) routing rules: which host and path go to which Service, with which TLS certificate |
//! | [`IngressClass`] | a kind of ingress controller; an Ingress names one (`ingressClassName`) |
//!
//! An Ingress does nothing by itself: an ingress controller (kubelab's is the `kubelab ingress`
//! process, a small cousin of ingress-nginx) watches the Ingresses of its class, and proxies each
//! request to a ready endpoint of the Service a rule names. The class decides which controller
//! serves an Ingress, so two controllers (say a public and an internal one) can share a cluster.

pub mod ingress;
pub mod ingressclass;

pub use ingress::{
    HttpIngressPath, HttpIngressRuleValue, Ingress, IngressBackend, IngressLoadBalancerIngress,
    IngressLoadBalancerStatus, IngressPortStatus, IngressRule, IngressServiceBackend, IngressSpec, IngressStatus,
    IngressTls, ServiceBackendPort, PATH_TYPES,
};
pub use ingressclass::{
    is_default_class, IngressClass, IngressClassParametersReference, IngressClassSpec, DEFAULT_CLASS_ANNOTATION,
};

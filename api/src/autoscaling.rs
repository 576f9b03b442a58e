//! Scale (`autoscaling/v1`): the `scale` subresource of Deployments, ReplicaSets and StatefulSets.
//!
//! `kubectl scale deploy/web --replicas=3` does not edit the Deployment; it patches
//! `deployments/web/scale`, a small view with just the desired count (`spec.replicas`), the
//! current count and the label selector as a string. Autoscalers use the same view, so they work
//! with any kind that has one. A Scale is never stored: the API server builds it from the
//! workload and writes `spec.replicas` back.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ScaleSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ScaleStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaleSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaleStatus {
    /// Required by Kubernetes' schema, so always written.
    pub replicas: i32,
    /// The label selector as a query string: `app=web,tier=front`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

impl Scale {
    pub const API_VERSION: &'static str = "autoscaling/v1";
    pub const KIND: &'static str = "Scale";

    /// A Scale for a workload, with `apiVersion` and `kind` filled in.
    pub fn new(metadata: ObjectMeta, spec_replicas: i32, status_replicas: i32, selector: String) -> Self {
        Scale {
            api_version: Some(Self::API_VERSION.into()),
            kind: Some(Self::KIND.into()),
            metadata,
            spec: ScaleSpec {
                replicas: Some(spec_replicas),
            },
            status: Some(ScaleStatus {
                replicas: status_replicas,
                selector: Some(selector),
            }),
        }
    }
}

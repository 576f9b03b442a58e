//! `Api<T>`: the verbs of one kind, typed.
//!
//! ```ignore
//! let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
//! let pod = pods.get("web").await?;                   // GET    .../namespaces/default/pods/web
//! let all = pods.list(&ListParams::default()).await?; // GET    .../namespaces/default/pods
//! pods.patch("web", &Patch::Merge(json!({"metadata":{"labels":{"tier":"db"}}}))).await?;
//! let nodes: Api<Node> = Api::all(client);            // cluster-scoped: /api/v1/nodes
//! ```
//!
//! This is client-go's typed clientset (`clientset.CoreV1().Pods("default")`), except that one
//! generic type serves every kind: the [`Object`] trait tells it the group, version, plural and
//! scope, and [`ResourceRef`] turns them into paths.
//!
//! Updates use **optimistic concurrency**: [`Api::replace`] sends the `resourceVersion` it read,
//! and if someone wrote in between the server answers 409 Conflict
//! ([`ClientError::is_conflict`]). The fix is always the same: read again, change again, retry.

use std::marker::PhantomData;

use futures_util::stream::BoxStream;
use kubelab_api::resource::to_value_with_type_meta;
use kubelab_api::{core::Pod, List, Object, ObjectMeta};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::ClientError;
use crate::params::{DeleteParams, ListParams, Patch, PatchParams};
use crate::raw::{DeleteResponse, RawApi, ResourceRef};
use crate::watch::WatchEvent;

/// The typed API of kind `T` in one namespace, or across all of them.
pub struct Api<T> {
    raw: RawApi,
    _kind: PhantomData<fn() -> T>,
}

// By hand, because a derive would demand `T: Clone` for a PhantomData.
impl<T> Clone for Api<T> {
    fn clone(&self) -> Self {
        Api {
            raw: self.raw.clone(),
            _kind: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Api<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Api({}, namespace {:?})",
            self.raw.resource.plural, self.raw.namespace
        )
    }
}

impl<T: Object> Api<T> {
    /// Objects of namespace `namespace`. For a cluster-scoped kind the namespace is ignored.
    pub fn namespaced(client: Client, namespace: &str) -> Self {
        Self::with(client, Some(namespace.to_string()))
    }

    /// Objects of the client's default namespace (the kubeconfig context's).
    pub fn default_namespaced(client: Client) -> Self {
        let namespace = client.default_namespace().to_string();
        Self::with(client, Some(namespace))
    }

    /// Cluster-scoped objects, or namespaced objects of every namespace. Lists and watches
    /// work; verbs on one object need a namespace, so `create` takes the one in the object's
    /// `metadata.namespace` and the others fail with [`ClientError::Request`].
    pub fn all(client: Client) -> Self {
        Self::with(client, None)
    }

    fn with(client: Client, namespace: Option<String>) -> Self {
        Api {
            raw: RawApi::new(client, ResourceRef::of::<T>(), namespace),
            _kind: PhantomData,
        }
    }

    /// The namespace this Api works in, `None` for all namespaces or a cluster-scoped kind.
    pub fn namespace(&self) -> Option<&str> {
        self.raw.namespace.as_deref()
    }

    pub fn client(&self) -> &Client {
        &self.raw.client
    }

    /// The object named `name`; a missing object is an error ([`ClientError::is_not_found`]).
    pub async fn get(&self, name: &str) -> Result<T, ClientError> {
        self.raw.get(name, None).await
    }

    /// The object named `name`, or `None` if there is none.
    pub async fn get_opt(&self, name: &str) -> Result<Option<T>, ClientError> {
        match self.get(name).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The objects that match `lp`, with the list's `metadata.resourceVersion` (where a watch
    /// starts) and `metadata.continue` (the next page, when `lp.limit` cut it short).
    pub async fn list(&self, lp: &ListParams) -> Result<List<T>, ClientError> {
        self.raw.list(lp).await
    }

    /// Creates `object` and returns it as stored (with uid, resourceVersion, defaults).
    pub async fn create(&self, object: &T) -> Result<T, ClientError> {
        self.raw.create(&to_value_with_type_meta(object)).await
    }

    /// Replaces the object named `name` with `object` (PUT). `object.metadata.resourceVersion`
    /// must be the stored one, or the server answers 409 Conflict. `status` is left as stored:
    /// write it with [`Api::replace_status`].
    pub async fn replace(&self, name: &str, object: &T) -> Result<T, ClientError> {
        self.raw.replace(name, None, &to_value_with_type_meta(object)).await
    }

    /// Changes part of the object named `name`. Server-side apply ([`Patch::Apply`]) uses the
    /// field manager `kubelab`; see [`Api::patch_with`] to name another.
    pub async fn patch(&self, name: &str, patch: &Patch) -> Result<T, ClientError> {
        self.patch_with(name, patch, &PatchParams::default()).await
    }

    pub async fn patch_with(&self, name: &str, patch: &Patch, pp: &PatchParams) -> Result<T, ClientError> {
        self.raw.patch(name, None, patch, pp).await
    }

    /// Deletes the object named `name`. The answer is the object (with a `deletionTimestamp`
    /// if finalizers or a grace period keep it a while) or a `Status`.
    pub async fn delete(&self, name: &str, dp: &DeleteParams) -> Result<DeleteResponse<T>, ClientError> {
        self.raw.delete(name, dp).await
    }

    /// Writes only `status` (PUT `.../{name}/status`); what `spec` says is ignored. Controllers
    /// and node agents report what they observed this way.
    pub async fn replace_status(&self, name: &str, object: &T) -> Result<T, ClientError> {
        self.raw
            .replace(name, Some("status"), &to_value_with_type_meta(object))
            .await
    }

    /// Patches only `status`.
    pub async fn patch_status(&self, name: &str, patch: &Patch) -> Result<T, ClientError> {
        self.raw
            .patch(name, Some("status"), patch, &PatchParams::default())
            .await
    }

    /// The `scale` subresource of a Deployment, ReplicaSet or StatefulSet.
    pub async fn get_scale(&self, name: &str) -> Result<Scale, ClientError> {
        self.raw.get(name, Some("scale")).await
    }

    /// Patches the `scale` subresource: `Patch::Merge(json!({"spec":{"replicas":3}}))`.
    pub async fn patch_scale(&self, name: &str, patch: &Patch) -> Result<Scale, ClientError> {
        self.raw
            .patch(name, Some("scale"), patch, &PatchParams::default())
            .await
    }

    /// Replaces the `scale` subresource.
    pub async fn replace_scale(&self, name: &str, scale: &Scale) -> Result<Scale, ClientError> {
        let body = serde_json::to_value(scale).map_err(|source| ClientError::Decode {
            context: "Scale request body".into(),
            source,
        })?;
        self.raw.replace(name, Some("scale"), &body).await
    }

    /// Watches the objects that match `lp` for changes after `resource_version` (`""` or `"0"`:
    /// first an ADDED for each object that exists). The stream ends when the server closes the
    /// watch; [`watcher`](crate::watcher()) is the version that resumes by itself.
    pub async fn watch(
        &self,
        lp: &ListParams,
        resource_version: &str,
    ) -> Result<BoxStream<'static, Result<WatchEvent<T>, ClientError>>, ClientError> {
        self.raw.watch(lp, resource_version).await
    }
}

impl Api<Pod> {
    /// Assigns the pod to a node: POST `pods/{name}/binding`, what the scheduler does. The
    /// server sets `spec.nodeName`, which a pod's own update may never change.
    pub async fn bind(&self, pod_name: &str, node_name: &str) -> Result<(), ClientError> {
        let binding = json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod_name, "namespace": self.namespace().unwrap_or_default()},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        });
        let _answer: Value = self.raw.post_sub(pod_name, "binding", &binding).await?;
        Ok(())
    }
}

/// `autoscaling/v1` Scale: how many replicas a workload wants and has.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    #[serde(default = "scale_api_version")]
    pub api_version: String,
    #[serde(default = "scale_kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ScaleSpec,
    #[serde(default)]
    pub status: ScaleStatus,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSpec {
    #[serde(default)]
    pub replicas: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleStatus {
    #[serde(default)]
    pub replicas: i32,
    /// The workload's label selector as a string (`app=web`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

fn scale_api_version() -> String {
    "autoscaling/v1".into()
}

fn scale_kind() -> String {
    "Scale".into()
}

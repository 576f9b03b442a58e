//! `DynamicApi`: the same verbs as [`Api`](crate::Api), on untyped JSON.
//!
//! A CLI that applies whatever YAML it is given does not know at compile time which kinds it
//! will meet. It reads `apiVersion` and `kind` from the manifest, looks them up in kubelab-api's
//! resource table ([`kubelab_api::resource::find_by_kind`]) to learn the plural and the scope,
//! and sends the document as it is (client-go's `dynamic.Interface`):
//!
//! ```ignore
//! let api = DynamicApi::for_kind(client, "apps/v1", "Deployment", Some("default"))?;
//! let created: serde_json::Value = api.create(&manifest).await?;
//! ```

use futures_util::stream::BoxStream;
use kubelab_api::resource::find_by_kind;
use kubelab_api::{List, ResourceInfo};
use serde_json::Value;

use crate::client::Client;
use crate::error::ClientError;
use crate::params::{DeleteParams, ListParams, Patch, PatchParams};
use crate::raw::{DeleteResponse, RawApi, ResourceRef};
use crate::watch::WatchEvent;

/// The untyped API of one resource, in one namespace or across all of them.
#[derive(Clone, Debug)]
pub struct DynamicApi {
    raw: RawApi,
    info: &'static ResourceInfo,
}

impl DynamicApi {
    /// The resource `info` in `namespace` (`None`: all namespaces, or a cluster-scoped kind).
    pub fn new(client: Client, info: &'static ResourceInfo, namespace: Option<&str>) -> Self {
        let raw = RawApi::new(client, ResourceRef::from_info(info), namespace.map(str::to_string));
        DynamicApi { raw, info }
    }

    /// The resource of `kind` in `api_version`, as a manifest names it.
    pub fn for_kind(
        client: Client,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Self, ClientError> {
        let info = find_by_kind(api_version, kind).ok_or_else(|| {
            ClientError::Request(format!(
                "no resource of kind {kind:?} in version {api_version:?} is served"
            ))
        })?;
        Ok(Self::new(client, info, namespace))
    }

    /// The resource table's entry (plural, short names, subresources).
    pub fn info(&self) -> &'static ResourceInfo {
        self.info
    }

    pub fn namespace(&self) -> Option<&str> {
        self.raw.namespace.as_deref()
    }

    pub async fn get(&self, name: &str) -> Result<Value, ClientError> {
        self.raw.get(name, None).await
    }

    pub async fn get_opt(&self, name: &str) -> Result<Option<Value>, ClientError> {
        match self.get(name).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn list(&self, lp: &ListParams) -> Result<List<Value>, ClientError> {
        self.raw.list(lp).await
    }

    pub async fn create(&self, object: &Value) -> Result<Value, ClientError> {
        self.raw.create(object).await
    }

    pub async fn replace(&self, name: &str, object: &Value) -> Result<Value, ClientError> {
        self.raw.replace(name, None, object).await
    }

    pub async fn patch(&self, name: &str, patch: &Patch, pp: &PatchParams) -> Result<Value, ClientError> {
        self.raw.patch(name, None, patch, pp).await
    }

    pub async fn delete(&self, name: &str, dp: &DeleteParams) -> Result<DeleteResponse<Value>, ClientError> {
        self.raw.delete(name, dp).await
    }

    /// GET of a subresource (`status`, `scale`).
    pub async fn get_subresource(&self, name: &str, subresource: &str) -> Result<Value, ClientError> {
        self.raw.get(name, Some(subresource)).await
    }

    /// PUT of a subresource (`status`, `scale`).
    pub async fn replace_subresource(&self, name: &str, subresource: &str, body: &Value) -> Result<Value, ClientError> {
        self.raw.replace(name, Some(subresource), body).await
    }

    /// PATCH of a subresource (`status`, `scale`).
    pub async fn patch_subresource(&self, name: &str, subresource: &str, patch: &Patch) -> Result<Value, ClientError> {
        self.raw
            .patch(name, Some(subresource), patch, &PatchParams::default())
            .await
    }

    pub async fn watch(
        &self,
        lp: &ListParams,
        resource_version: &str,
    ) -> Result<BoxStream<'static, Result<WatchEvent<Value>, ClientError>>, ClientError> {
        self.raw.watch(lp, resource_version).await
    }
}

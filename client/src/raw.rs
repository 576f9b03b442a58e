//! Paths and verbs, shared by the typed [`Api`](crate::Api) and the untyped
//! [`DynamicApi`](crate::DynamicApi).
//!
//! Every Kubernetes resource is reached the same way; only four facts differ between kinds:
//!
//! ```text
//! /api/v1                 /namespaces/default  /pods         /web  /status
//! /apis/apps/v1           /namespaces/default  /deployments  /web  /scale
//! /api/v1                                      /nodes        /n1
//!  └ group + version       └ if namespaced      └ plural      └ name └ subresource
//! ```
//!
//! [`ResourceRef`] holds those facts and builds paths; [`RawApi`] adds a [`Client`] and a
//! namespace, and implements each verb once, generic over the type the answer is decoded into.

use kubelab_api::{List, Object, ResourceInfo, Status};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{Client, Method, RequestBody};
use crate::error::ClientError;
use crate::params::{DeleteParams, ListParams, Patch, PatchParams};
use crate::watch::{event_stream, WatchEvent};
use futures_util::stream::BoxStream;

/// Where a resource lives on the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceRef {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl ResourceRef {
    /// The resource of a typed kind.
    pub fn of<T: Object>() -> Self {
        ResourceRef {
            group: T::GROUP,
            version: T::VERSION,
            kind: T::KIND,
            plural: T::PLURAL,
            namespaced: T::NAMESPACED,
        }
    }

    /// The resource of an entry of kubelab-api's resource table.
    pub fn from_info(info: &ResourceInfo) -> Self {
        ResourceRef {
            group: info.group,
            version: info.version,
            kind: info.kind,
            plural: info.plural,
            namespaced: info.namespaced,
        }
    }

    /// `/api/v1/namespaces/{ns}/pods`, or `/api/v1/pods` across all namespaces (and always for
    /// cluster-scoped kinds).
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let root = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{root}/namespaces/{}/{}", segment(ns), self.plural),
            _ => format!("{root}/{}", self.plural),
        }
    }

    /// `/api/v1/namespaces/{ns}/pods/{name}[/{subresource}]`.
    pub fn item_path(&self, namespace: Option<&str>, name: &str, subresource: Option<&str>) -> String {
        let mut path = format!("{}/{}", self.collection_path(namespace), segment(name));
        if let Some(sub) = subresource {
            path.push('/');
            path.push_str(sub);
        }
        path
    }
}

/// A name as one path segment (percent-encoded, so a stray `/` cannot change the path).
fn segment(name: &str) -> String {
    urlencoding::encode(name).into_owned()
}

/// What a DELETE answered: the object (gone, or still terminating with a `deletionTimestamp`
/// because of finalizers or a grace period), or a bare `Status`.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // usually the object, which is larger still
pub enum DeleteResponse<T> {
    Object(T),
    Status(Status),
}

impl<T> DeleteResponse<T> {
    /// The object, if the server answered with one.
    pub fn object(self) -> Option<T> {
        match self {
            DeleteResponse::Object(o) => Some(o),
            DeleteResponse::Status(_) => None,
        }
    }
}

/// A resource, a client and a namespace: every verb, generic over the answer's type.
#[derive(Clone, Debug)]
pub(crate) struct RawApi {
    pub(crate) client: Client,
    pub(crate) resource: ResourceRef,
    /// `None`: all namespaces (lists and watches), or a cluster-scoped kind.
    pub(crate) namespace: Option<String>,
}

impl RawApi {
    pub(crate) fn new(client: Client, resource: ResourceRef, namespace: Option<String>) -> Self {
        let namespace = if resource.namespaced { namespace } else { None };
        RawApi {
            client,
            resource,
            namespace,
        }
    }

    fn collection(&self) -> String {
        self.resource.collection_path(self.namespace.as_deref())
    }

    /// The path of one object; a namespaced kind needs a namespace.
    fn item(&self, name: &str, subresource: Option<&str>) -> Result<String, ClientError> {
        self.item_in(self.namespace.as_deref(), name, subresource)
    }

    fn item_in(&self, namespace: Option<&str>, name: &str, subresource: Option<&str>) -> Result<String, ClientError> {
        if name.is_empty() {
            return Err(ClientError::Request(format!("a {} needs a name", self.resource.kind)));
        }
        if self.resource.namespaced && namespace.is_none_or(str::is_empty) {
            return Err(ClientError::Request(format!(
                "{} {name:?} is namespaced: use an Api made with a namespace, not Api::all",
                self.resource.kind
            )));
        }
        Ok(self.resource.item_path(namespace, name, subresource))
    }

    pub(crate) async fn get<R: DeserializeOwned>(&self, name: &str, sub: Option<&str>) -> Result<R, ClientError> {
        self.client.request(Method::GET, &self.item(name, sub)?, None).await
    }

    pub(crate) async fn list<R: DeserializeOwned>(&self, lp: &ListParams) -> Result<List<R>, ClientError> {
        let path = format!("{}{}", self.collection(), lp.list_query().to_query_string());
        self.client.request(Method::GET, &path, None).await
    }

    /// POSTs `body` to the collection of the Api's namespace, or else of the namespace named in
    /// the body's `metadata.namespace`.
    pub(crate) async fn create<R: DeserializeOwned>(&self, body: &Value) -> Result<R, ClientError> {
        let namespace = match (
            &self.namespace,
            body.pointer("/metadata/namespace").and_then(Value::as_str),
        ) {
            (Some(ns), _) => Some(ns.as_str()),
            (None, Some(ns)) if self.resource.namespaced => Some(ns),
            (None, _) if self.resource.namespaced => {
                return Err(ClientError::Request(format!(
                    "cannot create a {} without a namespace: use Api::namespaced or set metadata.namespace",
                    self.resource.kind
                )))
            }
            (None, _) => None,
        };
        let path = self.resource.collection_path(namespace);
        self.client
            .request(Method::POST, &path, Some(RequestBody::json(body)?))
            .await
    }

    pub(crate) async fn replace<R: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        body: &Value,
    ) -> Result<R, ClientError> {
        self.client
            .request(Method::PUT, &self.item(name, sub)?, Some(RequestBody::json(body)?))
            .await
    }

    pub(crate) async fn patch<R: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        patch: &Patch,
        pp: &PatchParams,
    ) -> Result<R, ClientError> {
        let path = format!("{}{}", self.item(name, sub)?, pp.query(patch).to_query_string());
        let body = RequestBody::json_as(patch.content_type(), patch.body())?;
        self.client.request(Method::PATCH, &path, Some(body)).await
    }

    pub(crate) async fn post_sub<R: DeserializeOwned>(
        &self,
        name: &str,
        sub: &str,
        body: &Value,
    ) -> Result<R, ClientError> {
        self.client
            .request(
                Method::POST,
                &self.item(name, Some(sub))?,
                Some(RequestBody::json(body)?),
            )
            .await
    }

    pub(crate) async fn delete<R: DeserializeOwned>(
        &self,
        name: &str,
        dp: &DeleteParams,
    ) -> Result<DeleteResponse<R>, ClientError> {
        let body = dp.body().map(|b| RequestBody::json(&b)).transpose()?;
        let path = self.item(name, None)?;
        let answer: Value = self.client.request(Method::DELETE, &path, body).await?;
        let context = || format!("{} from DELETE {path}", self.resource.kind);
        if answer.get("kind").and_then(Value::as_str) == Some("Status") {
            let status = serde_json::from_value(answer).map_err(|source| ClientError::Decode {
                context: context(),
                source,
            })?;
            return Ok(DeleteResponse::Status(status));
        }
        let object = serde_json::from_value(answer).map_err(|source| ClientError::Decode {
            context: context(),
            source,
        })?;
        Ok(DeleteResponse::Object(object))
    }

    pub(crate) async fn watch<R: DeserializeOwned + Send + 'static>(
        &self,
        lp: &ListParams,
        resource_version: &str,
    ) -> Result<BoxStream<'static, Result<WatchEvent<R>, ClientError>>, ClientError> {
        let path = format!(
            "{}{}",
            self.collection(),
            lp.watch_query(resource_version).to_query_string()
        );
        let chunks = self.client.request_stream(&path).await?;
        Ok(event_stream(chunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::{apps, core};

    #[test]
    fn paths_follow_kubernetes() {
        let pods = ResourceRef::of::<core::Pod>();
        assert_eq!(pods.collection_path(Some("default")), "/api/v1/namespaces/default/pods");
        assert_eq!(pods.collection_path(None), "/api/v1/pods");
        assert_eq!(
            pods.item_path(Some("ns"), "web", Some("binding")),
            "/api/v1/namespaces/ns/pods/web/binding"
        );
        let deployments = ResourceRef::of::<apps::Deployment>();
        assert_eq!(
            deployments.item_path(Some("a"), "web", Some("scale")),
            "/apis/apps/v1/namespaces/a/deployments/web/scale"
        );
        let nodes = ResourceRef::of::<core::Node>();
        assert_eq!(nodes.collection_path(Some("ignored")), "/api/v1/nodes");
        assert_eq!(nodes.item_path(None, "a/b", None), "/api/v1/nodes/a%2Fb");
    }

    #[test]
    fn item_paths_need_a_name_and_a_namespace() {
        let client = Client::new(crate::Config::new("http://127.0.0.1:1")).unwrap();
        let all_pods = RawApi::new(client.clone(), ResourceRef::of::<core::Pod>(), None);
        assert!(matches!(all_pods.item("web", None), Err(ClientError::Request(_))));
        let pods = RawApi::new(client.clone(), ResourceRef::of::<core::Pod>(), Some("default".into()));
        assert!(matches!(pods.item("", None), Err(ClientError::Request(_))));
        let nodes = RawApi::new(client, ResourceRef::of::<core::Node>(), Some("default".into()));
        assert_eq!(nodes.item("n1", None).unwrap(), "/api/v1/nodes/n1");
    }
}

//! Which resource a word names, found through the API server's discovery documents.
//!
//! `kubectl get po`, `get pods`, `get pod`, `get Pod` and `get deployments.apps` all work because
//! kubectl does not know the kinds itself: it asks the server. `GET /api/v1` and
//! `GET /apis/{group}/{version}` list every resource with its plural `name`, `singularName`,
//! `shortNames`, `kind` and whether it is `namespaced`; `GET /apis` lists the groups. A word is
//! matched against those, in kubectl's order (plural, singular, short name, then kind), so a
//! kind kubelab adds later is usable at once, with no change here.
//!
//! The documents are fetched once per process, all at the same time, and kept in [`Discovery`].

use futures_util::future::join_all;
use kubelab_client::{Client, Method};
use serde::Deserialize;

use crate::error::{CliError, Result};

/// One served resource, as discovery describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResource {
    /// `""` for the core group, `apps`, ...
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural, as in the URL: `deployments`.
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<String>,
}

impl ApiResource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods`, `deployments.apps`: how kubectl names the resource in messages.
    pub fn group_resource(&self) -> String {
        with_group(&self.plural, &self.group)
    }

    /// `pod`, `deployment.apps`: the prefix of `deployment.apps/web`.
    pub fn kind_group(&self) -> String {
        with_group(&self.kind.to_lowercase(), &self.group)
    }

    /// `/api/v1/namespaces/{ns}/pods`, or `/api/v1/pods` without a namespace (all of them, or
    /// a cluster-scoped kind).
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let root = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{root}/namespaces/{}/{}", enc(ns), self.plural),
            _ => format!("{root}/{}", self.plural),
        }
    }

    /// The path of one object.
    pub fn item_path(&self, namespace: &str, name: &str) -> String {
        format!("{}/{}", self.collection_path(Some(namespace)), enc(name))
    }
}

fn with_group(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

/// A path segment, percent-encoded.
pub fn enc(s: &str) -> String {
    urlencoding::encode(s).into_owned()
}

/// Every resource the server serves, in discovery order (core group first).
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub resources: Vec<ApiResource>,
}

#[derive(Deserialize)]
struct ApiVersions {
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct GroupList {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    name: String,
    #[serde(default)]
    preferred_version: Option<GroupVersion>,
    #[serde(default)]
    versions: Vec<GroupVersion>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct GroupVersion {
    version: String,
}

#[derive(Deserialize)]
struct ResourceList {
    #[serde(default)]
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResource {
    name: String,
    #[serde(default)]
    singular_name: String,
    #[serde(default)]
    namespaced: bool,
    kind: String,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
}

impl Discovery {
    /// Reads `/api`, `/apis` and every group version's resource list.
    pub async fn fetch(client: &Client) -> Result<Discovery> {
        let (core, groups) = futures_util::future::join(
            client.request::<ApiVersions>(Method::GET, "/api", None),
            client.request::<GroupList>(Method::GET, "/apis", None),
        )
        .await;
        let mut versions: Vec<(String, String)> = core?.versions.into_iter().map(|v| (String::new(), v)).collect();
        for group in groups?.groups {
            let version = group.preferred_version.or_else(|| group.versions.first().cloned());
            if let Some(v) = version {
                versions.push((group.name, v.version));
            }
        }
        let lists = join_all(versions.iter().map(|(group, version)| {
            let path = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{group}/{version}")
            };
            async move { client.request::<ResourceList>(Method::GET, &path, None).await }
        }))
        .await;
        let mut resources = Vec::new();
        for ((group, version), list) in versions.into_iter().zip(lists) {
            resources.extend(
                list?
                    .resources
                    .into_iter()
                    .filter(|r| !r.name.contains('/'))
                    .map(|r| ApiResource {
                        group: group.clone(),
                        version: version.clone(),
                        singular: if r.singular_name.is_empty() {
                            r.kind.to_lowercase()
                        } else {
                            r.singular_name
                        },
                        plural: r.name,
                        kind: r.kind,
                        namespaced: r.namespaced,
                        short_names: r.short_names,
                        categories: r.categories,
                        verbs: r.verbs,
                    }),
            );
        }
        Ok(Discovery { resources })
    }

    /// The resource a word names: `po`, `pods`, `pod`, `Pod`, `deployments.apps`, `deploy.apps`.
    pub fn resolve(&self, word: &str) -> Result<&ApiResource> {
        let lower = word.to_lowercase();
        let candidates = std::iter::once((lower.as_str(), None))
            .chain(lower.split_once('.').map(|(name, group)| (name, Some(group))));
        for (name, group) in candidates {
            let in_group = |r: &&ApiResource| group.is_none_or(|g| r.group == g);
            let rules: [&dyn Fn(&ApiResource) -> bool; 4] = [
                &|r| r.plural == name,
                &|r| r.singular == name,
                &|r| r.short_names.iter().any(|s| s == name),
                &|r| r.kind.to_lowercase() == name,
            ];
            for rule in rules {
                if let Some(found) = self.resources.iter().filter(in_group).find(|r| rule(r)) {
                    return Ok(found);
                }
            }
        }
        Err(CliError::msg(format!(
            "the server doesn't have a resource type \"{word}\""
        )))
    }

    /// The resource of a manifest's `apiVersion` and `kind`.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<&ApiResource> {
        self.resources
            .iter()
            .find(|r| r.api_version() == api_version && r.kind == kind)
    }

    /// Every resource in a category (`all`: pods, services, deployments, ...).
    pub fn category(&self, category: &str) -> Vec<&ApiResource> {
        self.resources
            .iter()
            .filter(|r| r.categories.iter().any(|c| c == category))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(group: &str, kind: &str, plural: &str, short: &[&str]) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: kind != "Node",
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            verbs: vec![],
        }
    }

    #[test]
    fn words_resolve_as_kubectl_resolves_them() {
        let d = Discovery {
            resources: vec![
                res("", "Pod", "pods", &["po"]),
                res("", "Node", "nodes", &["no"]),
                res("apps", "Deployment", "deployments", &["deploy"]),
            ],
        };
        for word in ["po", "pods", "pod", "Pod", "PODS"] {
            assert_eq!(d.resolve(word).unwrap().plural, "pods", "{word}");
        }
        for word in ["deploy", "deployments.apps", "deployment", "deploy.apps", "Deployment"] {
            assert_eq!(d.resolve(word).unwrap().plural, "deployments", "{word}");
        }
        let err = d.resolve("frobs").unwrap_err().to_string();
        assert_eq!(err, "error: the server doesn't have a resource type \"frobs\"");
        assert!(d.resolve("deploy.core").is_err());
        let deploy = d.resolve("deploy").unwrap();
        assert_eq!(deploy.kind_group(), "deployment.apps");
        assert_eq!(deploy.group_resource(), "deployments.apps");
        assert_eq!(
            deploy.item_path("a b", "web"),
            "/apis/apps/v1/namespaces/a%20b/deployments/web"
        );
        let node = d.resolve("no").unwrap();
        assert_eq!(node.item_path("default", "n1"), "/api/v1/nodes/n1");
        assert_eq!(d.for_kind("apps/v1", "Deployment").unwrap().plural, "deployments");
        assert!(d.for_kind("v1", "Deployment").is_none());
    }
}

//! # Where objects live in the store
//!
//! Keys are shaped like kube-apiserver's etcd keys, so a student who has looked inside etcd
//! recognises them:
//!
//! ```text
//! /registry/pods/default/web                     a namespaced core object
//! /registry/apps/deployments/default/web         a namespaced object of a named group
//! /registry/nodes/n1                             a cluster-scoped object
//! ```
//!
//! A list or watch reads every key under a prefix, so prefixes always end with `/`: the prefix
//! of namespace `web` must not also match namespace `web2`.

use kubelab_api::ResourceInfo;

use crate::error::ApiError;

/// `/registry/pods/` or `/registry/apps/deployments/`: every object of the resource.
pub fn resource_prefix(info: &ResourceInfo) -> String {
    if info.group.is_empty() {
        format!("/registry/{}/", info.plural)
    } else {
        format!("/registry/{}/{}/", info.group, info.plural)
    }
}

/// The prefix of one namespace's objects, or of the whole resource.
pub fn collection_prefix(info: &ResourceInfo, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if info.namespaced => format!("{}{ns}/", resource_prefix(info)),
        _ => resource_prefix(info),
    }
}

/// The key of one object. Names with `/` would escape their collection's prefix, so they are
/// refused here whatever validation says.
pub fn object_key(info: &ResourceInfo, namespace: Option<&str>, name: &str) -> Result<String, ApiError> {
    check_segment("name", name)?;
    if info.namespaced {
        let ns = namespace.unwrap_or("");
        check_segment("namespace", ns)?;
        Ok(format!("{}{ns}/{name}", resource_prefix(info)))
    } else {
        Ok(format!("{}{name}", resource_prefix(info)))
    }
}

fn check_segment(what: &str, text: &str) -> Result<(), ApiError> {
    if text.is_empty() || text.contains('/') || text == "." || text == ".." {
        return Err(ApiError::BadRequest(format!(
            "invalid {what} {text:?}: may not be empty, '.', '..' or contain '/'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubelab_api::resource::find;

    #[test]
    fn keys_are_shaped_like_kubernetes() {
        let pods = find("", "v1", "pods").unwrap();
        let deploys = find("apps", "v1", "deployments").unwrap();
        let nodes = find("", "v1", "nodes").unwrap();
        assert_eq!(
            object_key(pods, Some("default"), "web").unwrap(),
            "/registry/pods/default/web"
        );
        assert_eq!(
            object_key(deploys, Some("default"), "web").unwrap(),
            "/registry/apps/deployments/default/web"
        );
        assert_eq!(object_key(nodes, None, "n1").unwrap(), "/registry/nodes/n1");
        assert_eq!(collection_prefix(pods, Some("default")), "/registry/pods/default/");
        assert_eq!(collection_prefix(pods, None), "/registry/pods/");
        assert!(object_key(pods, Some("default"), "a/b").is_err());
    }
}

//! The knobs of a request: selectors and paging for lists and watches, options for deletes, and
//! the four kinds of patch.
//!
//! On the wire these are query parameters (`?labelSelector=app%3Dweb&limit=50`), a
//! `DeleteOptions` body, and a `Content-Type` that tells the server how to read a patch.

use serde::Serialize;
use serde_json::Value;

/// Which objects a list or watch returns, and how many at a time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListParams {
    /// `app=web,tier!=db`: only objects whose labels match.
    pub label_selector: Option<String>,
    /// `spec.nodeName=node-1`: only objects whose fields match.
    pub field_selector: Option<String>,
    /// At most this many items; the list then carries a `continue` token for the rest.
    pub limit: Option<u32>,
    /// The token from the previous page's `metadata.continue`.
    pub continue_token: Option<String>,
    /// For watches: the server ends the watch after this many seconds (the client watches again).
    pub timeout_seconds: Option<u32>,
    /// For watches: ask for BOOKMARK events, which carry only a newer `resourceVersion` so a
    /// watch that sees no changes can still resume from a recent point.
    pub bookmarks: bool,
}

impl ListParams {
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn continue_token(mut self, token: &str) -> Self {
        self.continue_token = Some(token.to_string());
        self
    }

    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    pub fn bookmarks(mut self, on: bool) -> Self {
        self.bookmarks = on;
        self
    }

    /// The query of a list: selectors and paging.
    pub(crate) fn list_query(&self) -> Query {
        let mut query = self.selector_query();
        if let Some(limit) = self.limit {
            query.push("limit", limit.to_string());
        }
        if let Some(token) = &self.continue_token {
            query.push("continue", token.clone());
        }
        query
    }

    /// The query of a watch from `resource_version`.
    pub(crate) fn watch_query(&self, resource_version: &str) -> Query {
        let mut query = self.selector_query();
        query.push("watch", "true".into());
        if !resource_version.is_empty() {
            query.push("resourceVersion", resource_version.to_string());
        }
        if self.bookmarks {
            query.push("allowWatchBookmarks", "true".into());
        }
        if let Some(seconds) = self.timeout_seconds {
            query.push("timeoutSeconds", seconds.to_string());
        }
        query
    }

    fn selector_query(&self) -> Query {
        let mut query = Query::default();
        if let Some(selector) = self.label_selector.as_ref().filter(|s| !s.is_empty()) {
            query.push("labelSelector", selector.clone());
        }
        if let Some(selector) = self.field_selector.as_ref().filter(|s| !s.is_empty()) {
            query.push("fieldSelector", selector.clone());
        }
        query
    }
}

/// What happens to the objects a deleted object owns (its `ownerReferences` dependents).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PropagationPolicy {
    /// Leave them; they lose their owner.
    Orphan,
    /// Delete the owner now; the garbage collector deletes the dependents afterwards.
    Background,
    /// Delete the dependents first; the owner goes last.
    Foreground,
}

/// Only delete if the object is still this one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Options of a delete, sent as a `DeleteOptions` body.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteParams {
    /// Seconds a pod gets to shut down; `0` deletes at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<PropagationPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
}

impl DeleteParams {
    /// The `DeleteOptions` body, or `None` when nothing was asked for.
    pub(crate) fn body(&self) -> Option<Value> {
        if *self == DeleteParams::default() {
            return None;
        }
        let mut body = serde_json::to_value(self).ok()?;
        if let Value::Object(map) = &mut body {
            map.insert("kind".into(), "DeleteOptions".into());
            map.insert("apiVersion".into(), "v1".into());
        }
        Some(body)
    }
}

/// A change to part of an object, in one of the four forms Kubernetes accepts. The variant picks
/// the `Content-Type`, which tells the server how to apply it.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch {
    /// RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, **lists are
    /// replaced whole**.
    Merge(Value),
    /// Kubernetes' strategic merge patch: like a merge patch, but lists with a merge key
    /// (containers by `name`, ports by `containerPort`) are merged item by item. kubectl's
    /// default.
    Strategic(Value),
    /// RFC 6902 JSON patch: a list of operations (`[{"op":"replace","path":"/spec/replicas",
    /// "value":3}]`).
    Json(Value),
    /// Server-side apply: the whole intended object; created if missing. Sent with a
    /// `fieldManager` (see [`PatchParams`]).
    Apply(Value),
}

impl Patch {
    pub fn content_type(&self) -> &'static str {
        match self {
            Patch::Merge(_) => "application/merge-patch+json",
            Patch::Strategic(_) => "application/strategic-merge-patch+json",
            Patch::Json(_) => "application/json-patch+json",
            // JSON is YAML, so the JSON body is a valid apply-patch+yaml body.
            Patch::Apply(_) => "application/apply-patch+yaml",
        }
    }

    pub fn body(&self) -> &Value {
        match self {
            Patch::Merge(v) | Patch::Strategic(v) | Patch::Json(v) | Patch::Apply(v) => v,
        }
    }
}

/// Options of a patch. Only server-side apply uses them.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchParams {
    /// Who is applying (`kubectl`, `kubelab-controller`).
    pub field_manager: String,
    /// Take over fields another manager set, instead of failing with a conflict.
    pub force: bool,
}

impl Default for PatchParams {
    fn default() -> Self {
        PatchParams {
            field_manager: "kubelab".into(),
            force: true,
        }
    }
}

impl PatchParams {
    pub(crate) fn query(&self, patch: &Patch) -> Query {
        let mut query = Query::default();
        if matches!(patch, Patch::Apply(_)) {
            query.push("fieldManager", self.field_manager.clone());
            if self.force {
                query.push("force", "true".into());
            }
        }
        query
    }
}

/// A URL query string, built with every value percent-encoded (`app=web` → `app%3Dweb`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Query(Vec<(&'static str, String)>);

impl Query {
    pub(crate) fn push(&mut self, key: &'static str, value: String) {
        self.0.push((key, value));
    }

    /// `?a=1&b=2`, or `""` when empty.
    pub(crate) fn to_query_string(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
            .collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_and_watch_queries() {
        let lp = ListParams::default()
            .labels("app=web,tier in (a,b)")
            .limit(5)
            .continue_token("t1");
        assert_eq!(
            lp.list_query().to_query_string(),
            "?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29&limit=5&continue=t1"
        );
        let lp = ListParams::default()
            .fields("spec.nodeName=n1")
            .timeout(30)
            .bookmarks(true)
            .limit(5);
        assert_eq!(
            lp.watch_query("42").to_query_string(),
            "?fieldSelector=spec.nodeName%3Dn1&watch=true&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=30"
        );
        assert_eq!(ListParams::default().list_query().to_query_string(), "");
    }

    #[test]
    fn delete_body_only_when_asked() {
        assert_eq!(DeleteParams::default().body(), None);
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            propagation_policy: Some(PropagationPolicy::Foreground),
            preconditions: Some(Preconditions {
                uid: Some("u1".into()),
                resource_version: None,
            }),
        };
        assert_eq!(
            dp.body(),
            Some(
                json!({"gracePeriodSeconds":0,"propagationPolicy":"Foreground","preconditions":{"uid":"u1"},
                "kind":"DeleteOptions","apiVersion":"v1"})
            )
        );
    }

    #[test]
    fn patch_content_types_and_apply_params() {
        assert_eq!(
            Patch::Strategic(json!({})).content_type(),
            "application/strategic-merge-patch+json"
        );
        assert_eq!(Patch::Json(json!([])).content_type(), "application/json-patch+json");
        let pp = PatchParams::default();
        assert_eq!(pp.query(&Patch::Merge(json!({}))).to_query_string(), "");
        assert_eq!(
            pp.query(&Patch::Apply(json!({}))).to_query_string(),
            "?fieldManager=kubelab&force=true"
        );
    }
}

//! # From URL to request: which verb on which resource
//!
//! Kubernetes' REST paths are regular enough that one parser understands them all:
//!
//! ```text
//! /api/v1/namespaces/{ns}/{plural}[/{name}[/{subresource}]]      namespaced, core group
//! /apis/{group}/{version}/namespaces/{ns}/{plural}[/...]         namespaced, named group
//! /api/v1/{plural}[/{name}[/{subresource}]]                      cluster-scoped, or every namespace
//! /api/v1/watch/...                                              the legacy way to ask for a watch
//! ```
//!
//! The one trap is Namespace itself: `/api/v1/namespaces/web` is the Namespace named `web`, and
//! `/api/v1/namespaces/web/status` its status, not a resource called `status` in it. Like
//! kube-apiserver's `RequestInfoFactory`, we treat `status` and `finalize` after a namespace name as
//! subresources of the Namespace.
//!
//! The HTTP method and the path together give Kubernetes' verb: GET on a collection is `list`
//! (or `watch` with `watch=true`), GET on a name is `get`, DELETE on a collection is
//! `deletecollection`. Those verbs are what metrics and logs report.

use std::collections::HashMap;

use axum::http::Method;

use crate::error::ApiError;

/// Kubernetes' verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// What a resource URL asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub verb: Verb,
    pub group: String,
    pub version: String,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The plural (`pods`).
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Where a path under `/api` or `/apis` leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/api/v1`, `/apis/apps/v1`: discovery of one group version.
    GroupVersion { group: String, version: String },
    /// `/apis/apps`: discovery of one group.
    Group { group: String },
    /// A resource or subresource.
    Resource(RequestInfo),
}

/// Parses a path below `/api` or `/apis` (the caller serves `/api` and `/apis` themselves).
pub fn parse_route(method: &Method, path: &str, query: &Query) -> Result<Route, ApiError> {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| {
            urlencoding::decode(p)
                .map(|s| s.into_owned())
                .unwrap_or_else(|_| p.to_string())
        })
        .collect();
    let not_found = || {
        ApiError::NoRoute(format!(
            "the server could not find the requested resource (path {path})"
        ))
    };
    let (group, version, rest) = match parts.first().map(String::as_str) {
        Some("api") => match parts.get(1) {
            Some(version) => (String::new(), version.clone(), &parts[2..]),
            None => return Err(not_found()),
        },
        Some("apis") => match (parts.get(1), parts.get(2)) {
            (Some(group), Some(version)) => (group.clone(), version.clone(), &parts[3..]),
            (Some(group), None) => return Ok(Route::Group { group: group.clone() }),
            _ => return Err(not_found()),
        },
        _ => return Err(not_found()),
    };
    if rest.is_empty() {
        return Ok(Route::GroupVersion { group, version });
    }
    let (legacy_watch, rest) = match rest.first().map(String::as_str) {
        Some("watch") => (true, &rest[1..]),
        _ => (false, rest),
    };
    let mut namespace = None;
    let mut rest = rest;
    // `/namespaces/{ns}/{plural}...` is something in the namespace, except `status` and
    // `finalize`, which are subresources of the Namespace object itself; `/namespaces/{ns}` is
    // the Namespace.
    if rest.first().map(String::as_str) == Some("namespaces")
        && rest.len() > 2
        && !matches!(rest[2].as_str(), "status" | "finalize")
    {
        namespace = Some(rest[1].clone());
        rest = &rest[2..];
    }
    if rest.is_empty() || rest.len() > 3 {
        return Err(not_found());
    }
    let resource = rest[0].clone();
    let name = rest.get(1).cloned();
    let subresource = rest.get(2).cloned();
    let watch = legacy_watch || query.flag("watch")?;
    let verb = match *method {
        Method::GET | Method::HEAD => match (&name, watch) {
            (_, true) => Verb::Watch,
            (Some(_), false) => Verb::Get,
            (None, false) => Verb::List,
        },
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE => match name {
            Some(_) => Verb::Delete,
            None => Verb::DeleteCollection,
        },
        _ => {
            return Err(ApiError::MethodNotAllowed(format!(
                "the server does not allow this method on the requested resource ({method})"
            )))
        }
    };
    Ok(Route::Resource(RequestInfo {
        verb,
        group,
        version,
        namespace,
        resource,
        name,
        subresource,
    }))
}

/// Query parameters, decoded. When a name repeats, the last value wins.
#[derive(Clone, Debug, Default)]
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut params = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(decode_component(key), decode_component(value));
        }
        Query { params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A boolean parameter: `true`, `True`, `1` (the Python client sends `True`); absent or
    /// empty is false.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some(value) => parse_bool(value)
                .ok_or_else(|| ApiError::BadRequest(format!("invalid value for {name}: {value:?} is not a boolean"))),
        }
    }

    /// A non-negative integer parameter.
    pub fn number(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::BadRequest(format!("invalid value for {name}: {value:?} is not an integer"))),
        }
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn decode_component(text: &str) -> String {
    let spaced = text.replace('+', " ");
    urlencoding::decode(&spaced).map(|s| s.into_owned()).unwrap_or(spaced)
}

/// Booleans as Go's `strconv.ParseBool` reads them, ignoring case.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" => Some(true),
        "false" | "0" | "f" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path_and_query: &str) -> Route {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        parse_route(&method, path, &Query::parse(Some(query))).unwrap()
    }

    fn info(method: Method, path: &str) -> RequestInfo {
        match route(method, path) {
            Route::Resource(info) => info,
            other => panic!("not a resource: {other:?}"),
        }
    }

    #[test]
    fn namespaced_paths() {
        let i = info(Method::GET, "/api/v1/namespaces/default/pods/web");
        assert_eq!(
            (i.verb, i.namespace.as_deref(), i.resource.as_str(), i.name.as_deref()),
            (Verb::Get, Some("default"), "pods", Some("web"))
        );
        let i = info(Method::PUT, "/apis/apps/v1/namespaces/default/deployments/web/scale");
        assert_eq!(
            (i.group.as_str(), i.subresource.as_deref(), i.verb),
            ("apps", Some("scale"), Verb::Update)
        );
        let i = info(Method::GET, "/api/v1/pods?watch=True");
        assert_eq!((i.verb, i.namespace), (Verb::Watch, None));
        let i = info(Method::DELETE, "/api/v1/namespaces/default/pods");
        assert_eq!(i.verb, Verb::DeleteCollection);
    }

    #[test]
    fn namespace_paths_are_the_namespace_itself() {
        let i = info(Method::GET, "/api/v1/namespaces/web");
        assert_eq!(
            (i.resource.as_str(), i.name.as_deref(), i.subresource),
            ("namespaces", Some("web"), None)
        );
        assert_eq!(i.namespace, None);
        let i = info(Method::PUT, "/api/v1/namespaces/web/status");
        assert_eq!(
            (i.resource.as_str(), i.name.as_deref(), i.subresource.as_deref()),
            ("namespaces", Some("web"), Some("status"))
        );
        let i = info(Method::GET, "/api/v1/namespaces");
        assert_eq!((i.resource.as_str(), i.verb), ("namespaces", Verb::List));
    }

    #[test]
    fn legacy_watch_prefix() {
        let i = info(Method::GET, "/api/v1/watch/namespaces/default/pods");
        assert_eq!((i.verb, i.namespace.as_deref()), (Verb::Watch, Some("default")));
    }

    #[test]
    fn discovery_routes() {
        assert_eq!(
            route(Method::GET, "/api/v1"),
            Route::GroupVersion {
                group: "".into(),
                version: "v1".into()
            }
        );
        assert_eq!(route(Method::GET, "/apis/apps"), Route::Group { group: "apps".into() });
    }

    #[test]
    fn booleans_ignore_case() {
        let q = Query::parse(Some("watch=True&a=1&b=false&c=maybe&sel=app%3Dweb&sp=a+b"));
        assert!(q.flag("watch").unwrap());
        assert!(q.flag("a").unwrap());
        assert!(!q.flag("b").unwrap());
        assert!(!q.flag("missing").unwrap());
        assert!(q.flag("c").is_err());
        assert_eq!(q.get("sel"), Some("app=web"));
        assert_eq!(q.get("sp"), Some("a b"));
    }
}

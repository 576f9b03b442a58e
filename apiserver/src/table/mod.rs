//! # Server-side tables: what `kubectl get` prints
//!
//! `kubectl get pods` shows READY, STATUS, RESTARTS; `kubectl get svc` shows PORT(S). Yet kubectl
//! knows nothing about pods or services: it asks the *server* to lay the objects out as a table.
//! Every `get` it sends carries
//!
//! ```text
//! Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json
//! ```
//!
//! meaning "a `meta.k8s.io/v1` Table if you can, else the v1beta1 one, else plain JSON". A Table
//! is a list of column definitions and rows of ready-made cells:
//!
//! ```text
//! {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"42"},
//!  "columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"…","priority":0},…],
//!  "rows":[{"cells":["web-1","1/1","Running","0","5m"],
//!           "object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{…}}}]}
//! ```
//!
//! Why the server and not the client? Because the server is the one place that knows every kind
//! it serves, including ones added after kubectl was built (custom resources declare their own
//! columns), so an old kubectl prints a new kind properly. And the rules that make a cell, such
//! as turning a pod's container states into `CrashLoopBackOff` or `Init:0/1`, live in one place
//! instead of in every client.
//!
//! Three details kubectl depends on:
//!
//! - **Every cell is always sent**, including the `priority: 1` columns; kubectl shows those only
//!   with `-o wide`. That is why `-o wide` sends exactly the same request.
//! - **`includeObject`** says what each row carries besides its cells: `Metadata` (the default, a
//!   `PartialObjectMetadata`, from which kubectl takes the NAMESPACE column of `-A` and the labels
//!   of `--show-labels`), `None`, or the whole `Object`.
//! - **Watches**: with the same Accept header, each event's object is a one-row Table, so
//!   `kubectl get pods -w` prints one line per change with the same columns.
//!
//! A client that does not ask for a Table (`-o yaml`, the informers of every component) gets
//! exactly what it got before. The columns themselves follow Kubernetes' printers, one file per
//! group of kinds: [`pods`], [`workloads`], [`core`], [`storage`]; a kind without a printer gets
//! Kubernetes' default table, `Name` and `Created At`.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use kubelab_api::ResourceInfo;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::handlers::object_response;
use crate::request::Query;

pub mod core;
pub mod networking;
pub mod pods;
pub mod storage;
pub mod workloads;

/// What each row carries besides its cells (the `includeObject` query parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object at all.
    None,
    /// The object's metadata as a `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

/// A request for a Table: which version of `meta.k8s.io`, and what rows carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableRequest {
    /// `v1` or `v1beta1`: the Table's (and the row objects') `apiVersion` is `meta.k8s.io/<this>`.
    pub version: &'static str,
    pub include: IncludeObject,
}

/// Decides whether a GET, LIST or WATCH answers with a Table. The Accept header lists media
/// types in order of preference; the first one kubelab can serve wins. Anything else (no Accept
/// header, `application/json`, a Table of a group kubelab does not know) is `None`: plain JSON.
pub fn negotiate(headers: &HeaderMap, query: &Query) -> Result<Option<TableRequest>, ApiError> {
    let Some(version) = table_version(headers) else {
        return Ok(None);
    };
    let include = match query.get("includeObject") {
        None | Some("Metadata") => IncludeObject::Metadata,
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid includeObject {other:?}: must be one of \"None\", \"Metadata\", \"Object\""
            )))
        }
    };
    Ok(Some(TableRequest { version, include }))
}

/// The Table version the Accept header prefers, if it prefers a Table at all.
fn table_version(headers: &HeaderMap) -> Option<&'static str> {
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else { continue };
        for range in text.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let (mut as_kind, mut group, mut version) = (None, None, None);
            for param in parts {
                let (key, val) = param.split_once('=').unwrap_or((param, ""));
                let val = val.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "as" => as_kind = Some(val),
                    "g" => group = Some(val),
                    "v" => version = Some(val),
                    _ => {}
                }
            }
            let json_like = matches!(media.as_str(), "application/json" | "application/*" | "*/*");
            match as_kind {
                // A plain media type kubelab serves: plain objects are preferred.
                None if json_like || media == "application/yaml" => return None,
                Some("Table") if json_like && group == Some("meta.k8s.io") => match version {
                    Some("v1") => return Some("v1"),
                    Some("v1beta1") => return Some("v1beta1"),
                    _ => {}
                },
                // Anything else (protobuf, PartialObjectMetadata, unknown versions): try the next.
                _ => {}
            }
        }
    }
    None
}

/// One column of a Table, as Kubernetes' `TableColumnDefinition`.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    /// `string`, `integer`, `date`, ...
    pub kind: &'static str,
    /// `name` for the column holding the object's name, else empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: shown with `-o wide`.
    pub priority: u8,
}

impl Column {
    fn to_json(self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// The Name column every printer starts with (Events have it last, and wide).
pub const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};

/// The Age column: time since `metadata.creationTimestamp`.
pub const AGE: Column = col(
    "Age",
    "string",
    "How long ago the object was created (from metadata.creationTimestamp).",
);

/// A column shown by default.
pub const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 0,
    }
}

/// A column shown only with `-o wide`.
pub const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 1,
    }
}

/// How one kind is printed: its columns, and the cells of one object (one per column, wide ones
/// included).
#[derive(Clone, Copy)]
pub struct Printer {
    pub columns: &'static [Column],
    pub cells: fn(&Value, DateTime<Utc>) -> Vec<Value>,
    /// Row conditions (Kubernetes marks finished pods `Completed`); most kinds have none.
    pub conditions: fn(&Value) -> Vec<Value>,
}

/// No row conditions.
pub fn no_conditions(_: &Value) -> Vec<Value> {
    Vec::new()
}

/// The printer of a kind.
pub fn printer(info: &ResourceInfo) -> Printer {
    match (info.group, info.kind) {
        ("", "Pod") => pods::PRINTER,
        ("", "Node") => core::NODE,
        ("", "Service") => core::SERVICE,
        ("", "Endpoints") => core::ENDPOINTS,
        ("", "Namespace") => core::NAMESPACE,
        ("", "ConfigMap") => core::CONFIG_MAP,
        ("", "Secret") => core::SECRET,
        ("", "Event") => core::EVENT,
        ("", "PersistentVolumeClaim") => core::PVC,
        ("", "PersistentVolume") => storage::PERSISTENT_VOLUME,
        ("storage.k8s.io", "StorageClass") => storage::STORAGE_CLASS,
        ("networking.k8s.io", "Ingress") => networking::INGRESS,
        ("networking.k8s.io", "IngressClass") => networking::INGRESS_CLASS,
        ("coordination.k8s.io", "Lease") => core::LEASE,
        ("apps", "Deployment") => workloads::DEPLOYMENT,
        ("apps", "ReplicaSet") => workloads::REPLICA_SET,
        ("apps", "StatefulSet") => workloads::STATEFUL_SET,
        _ => DEFAULT,
    }
}

/// Kubernetes' table for kinds without a printer: the name and the creation time.
pub const DEFAULT: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Created At",
            "date",
            "When the object was created (metadata.creationTimestamp).",
        ),
    ],
    cells: default_cells,
    conditions: no_conditions,
};

fn default_cells(object: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    vec![name(object).into(), meta_text(object, "creationTimestamp").into()]
}

impl TableRequest {
    /// The Table JSON for some objects. `resource_version` and `continue_token` go into the
    /// Table's metadata, as a list's would.
    pub fn build(
        &self,
        info: &ResourceInfo,
        objects: &[&Value],
        resource_version: &str,
        continue_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Value {
        let printer = printer(info);
        let rows: Vec<Value> = objects.iter().map(|o| self.row(&printer, o, now)).collect();
        let mut metadata = Map::new();
        metadata.insert("resourceVersion".into(), resource_version.into());
        if let Some(token) = continue_token {
            metadata.insert("continue".into(), token.into());
        }
        json!({
            "kind": "Table",
            "apiVersion": format!("meta.k8s.io/{}", self.version),
            "metadata": metadata,
            "columnDefinitions": printer.columns.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
            "rows": rows,
        })
    }

    /// A one-row Table for one object (a GET, or a watch event).
    pub fn one(&self, info: &ResourceInfo, object: &Value, now: DateTime<Utc>) -> Value {
        let rv = meta_text(object, "resourceVersion");
        self.build(info, &[object], &rv, None, now)
    }

    /// The one-row Table as bytes, for a watch event line.
    pub fn one_bytes(&self, info: &ResourceInfo, object: &Value) -> Vec<u8> {
        serde_json::to_vec(&self.one(info, object, Utc::now())).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// A 200 response holding the Table.
    pub fn response(&self, table: &Value) -> Response {
        object_response(
            StatusCode::OK,
            serde_json::to_vec(table).unwrap_or_else(|_| b"{}".to_vec()),
            &[],
        )
    }

    fn row(&self, printer: &Printer, object: &Value, now: DateTime<Utc>) -> Value {
        let mut row = Map::new();
        row.insert("cells".into(), Value::Array((printer.cells)(object, now)));
        let conditions = (printer.conditions)(object);
        if !conditions.is_empty() {
            row.insert("conditions".into(), Value::Array(conditions));
        }
        match self.include {
            IncludeObject::None => {}
            IncludeObject::Object => {
                row.insert("object".into(), object.clone());
            }
            IncludeObject::Metadata => {
                row.insert(
                    "object".into(),
                    json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": format!("meta.k8s.io/{}", self.version),
                        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    }),
                );
            }
        }
        Value::Object(row)
    }
}

// ---- Helpers the printers share ----

/// The string at a path of keys, if it is one.
pub fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// The string at a path, or "" (Go's zero value, which is what Kubernetes' printers see).
pub fn text_or_empty<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    text(value, path).unwrap_or("")
}

/// The integer at a path, or 0.
pub fn int(value: &Value, path: &[&str]) -> i64 {
    at(value, path).and_then(Value::as_i64).unwrap_or(0)
}

/// The value at a path of keys.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The array at a path, or an empty slice.
pub fn array<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The number of entries of the map at a path.
pub fn map_len(value: &Value, path: &[&str]) -> usize {
    at(value, path).and_then(Value::as_object).map(Map::len).unwrap_or(0)
}

/// `metadata.name`.
pub fn name(object: &Value) -> String {
    meta_text(object, "name")
}

/// A string field of `metadata`, or "".
pub fn meta_text(object: &Value, field: &str) -> String {
    text_or_empty(object, &["metadata", field]).to_string()
}

/// A timestamp, parsed.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// Time since a timestamp field, as kubectl prints it; `<unknown>` when the field is missing.
pub fn since(value: &Value, path: &[&str], now: DateTime<Utc>) -> String {
    match text(value, path).and_then(parse_time) {
        Some(then) => human_duration(now - then),
        None => "<unknown>".into(),
    }
}

/// The Age cell: time since `metadata.creationTimestamp`.
pub fn age(object: &Value, now: DateTime<Utc>) -> Value {
    since(object, &["metadata", "creationTimestamp"], now).into()
}

/// A duration the way kubectl writes ages: precise when short (`90s`, `3m2s`), coarser as it
/// grows (`4h`, `2d3h`, `45d`, `3y10d`), so a column stays narrow and still useful.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    // Up to a second in the future is clock skew between machines: call it now.
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_rest(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_rest(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

/// `3m` or `3m2s`: the smaller unit only when it is not zero.
fn with_rest(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

/// `app=web,tier=front` from a map of labels, sorted by key; `<none>` when empty.
pub fn format_labels(labels: Option<&Value>) -> String {
    let Some(map) = labels.and_then(Value::as_object) else {
        return "<none>".into();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

/// A label selector as kubectl writes it: `app=web,tier in (a,b),!legacy`, requirements sorted
/// by key; `<none>` when it selects nothing in particular.
pub fn format_selector(selector: Option<&Value>) -> String {
    let Some(selector) = selector else {
        return "<none>".into();
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            requirements.push((key.clone(), format!("{key}={}", value.as_str().unwrap_or(""))));
        }
    }
    for expression in array(selector, &["matchExpressions"]) {
        let key = text_or_empty(expression, &["key"]);
        let mut values: Vec<&str> = array(expression, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let text = match text_or_empty(expression, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        };
        requirements.push((key.to_string(), text));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    if requirements.is_empty() {
        "<none>".into()
    } else {
        requirements.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",")
    }
}

/// The Containers and Images cells of a pod template: names and images joined by commas.
pub fn container_cells(pod_spec: Option<&Value>) -> (Value, Value) {
    let containers = pod_spec.map(|s| array(s, &["containers"])).unwrap_or(&[]);
    let names: Vec<&str> = containers.iter().map(|c| text_or_empty(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| text_or_empty(c, &["image"])).collect();
    (names.join(",").into(), images.join(",").into())
}

/// `<none>` for an empty string, the string otherwise.
pub fn or_none(text: &str) -> Value {
    if text.is_empty() {
        "<none>".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn query(text: &str) -> Query {
        Query::parse(Some(text))
    }

    #[test]
    fn kubectl_accept_header_asks_for_a_v1_table() {
        let t = negotiate(&accept(KUBECTL), &query("")).unwrap().unwrap();
        assert_eq!(t.version, "v1");
        assert_eq!(t.include, IncludeObject::Metadata);
        let beta = "application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json";
        assert_eq!(
            negotiate(&accept(beta), &query("")).unwrap().unwrap().version,
            "v1beta1"
        );
    }

    #[test]
    fn plain_requests_are_not_tables() {
        assert_eq!(negotiate(&HeaderMap::new(), &query("")).unwrap(), None);
        assert_eq!(negotiate(&accept("application/json"), &query("")).unwrap(), None);
        assert_eq!(negotiate(&accept("*/*"), &query("")).unwrap(), None);
        // JSON first: the client prefers plain objects.
        assert_eq!(
            negotiate(
                &accept("application/json, application/json;as=Table;v=v1;g=meta.k8s.io"),
                &query("")
            )
            .unwrap(),
            None
        );
        // A Table of an unknown group or version, or another `as`, is skipped.
        assert_eq!(
            negotiate(&accept("application/json;as=Table;v=v2;g=meta.k8s.io"), &query("")).unwrap(),
            None
        );
        assert_eq!(
            negotiate(&accept("application/json;as=Table;v=v1;g=other.io"), &query("")).unwrap(),
            None
        );
        assert_eq!(
            negotiate(
                &accept("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"),
                &query("")
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn include_object_is_read_and_checked() {
        let headers = accept(KUBECTL);
        assert_eq!(
            negotiate(&headers, &query("includeObject=None"))
                .unwrap()
                .unwrap()
                .include,
            IncludeObject::None
        );
        assert_eq!(
            negotiate(&headers, &query("includeObject=Object"))
                .unwrap()
                .unwrap()
                .include,
            IncludeObject::Object
        );
        assert!(matches!(
            negotiate(&headers, &query("includeObject=All")),
            Err(ApiError::BadRequest(_))
        ));
        // Without a Table, the parameter means nothing.
        assert_eq!(negotiate(&HeaderMap::new(), &query("includeObject=All")).unwrap(), None);
    }

    #[test]
    fn human_durations_match_kubectl() {
        let s = chrono::TimeDelta::seconds;
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (4 * 3600 + 5 * 60, "4h5m"),
            (8 * 3600 + 5 * 60, "8h"),
            (47 * 3600, "47h"),
            (2 * 86400 + 3 * 3600, "2d3h"),
            (3 * 86400, "3d"),
            (45 * 86400 + 3600, "45d"),
            (3 * 365 * 86400 + 10 * 86400, "3y10d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (seconds, want) in cases {
            assert_eq!(human_duration(s(seconds)), want, "{seconds}s");
        }
    }

    #[test]
    fn selectors_and_labels_are_formatted_as_kubectl_does() {
        assert_eq!(
            format_labels(Some(&json!({"tier": "front", "app": "web"}))),
            "app=web,tier=front"
        );
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
        let selector = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "env", "operator": "Exists"},
            ],
        });
        assert_eq!(format_selector(Some(&selector)), "app=web,env,!legacy,tier in (a,b)");
        assert_eq!(format_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_selector(None), "<none>");
    }

    #[test]
    fn default_table_has_name_and_created_at() {
        let t = TableRequest {
            version: "v1",
            include: IncludeObject::None,
        };
        let object =
            json!({"metadata": {"name": "x", "creationTimestamp": "2024-01-01T00:00:00Z", "resourceVersion": "7"}});
        let printer = DEFAULT;
        let row = t.row(&printer, &object, Utc::now());
        assert_eq!(row, json!({"cells": ["x", "2024-01-01T00:00:00Z"]}));
        assert_eq!(printer.columns[1].kind, "date");
    }

    #[test]
    fn rows_carry_metadata_by_default_and_tables_their_revision() {
        let pods = kubelab_api::resource::find("", "v1", "pods").unwrap();
        let pod = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "default", "resourceVersion": "9", "labels": {"app": "web"}}, "spec": {"containers": []}});
        let meta = TableRequest {
            version: "v1",
            include: IncludeObject::Metadata,
        };
        let table = meta.one(pods, &pod, Utc::now());
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(table["metadata"], json!({"resourceVersion": "9"}));
        let object = &table["rows"][0]["object"];
        assert_eq!(object["kind"], "PartialObjectMetadata");
        assert_eq!(object["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(object["metadata"], pod["metadata"]);
        let full = TableRequest {
            include: IncludeObject::Object,
            ..meta
        };
        assert_eq!(full.one(pods, &pod, Utc::now())["rows"][0]["object"], pod);
        let bare = TableRequest {
            include: IncludeObject::None,
            ..meta
        };
        assert!(bare.one(pods, &pod, Utc::now())["rows"][0].get("object").is_none());
        let list = meta.build(pods, &[&pod, &pod], "12", Some("tok"), Utc::now());
        assert_eq!(list["metadata"], json!({"resourceVersion": "12", "continue": "tok"}));
        assert_eq!(list["rows"].as_array().unwrap().len(), 2);
        let first = &list["columnDefinitions"][0];
        assert_eq!(first["name"], "Name");
        assert_eq!(first["format"], "name");
        assert_eq!(first["priority"], 0);
    }
}

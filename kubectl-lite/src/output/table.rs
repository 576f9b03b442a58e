//! Printing the API server's Tables as kubectl does.
//!
//! `kubectl get` does not know what columns a Deployment has: it asks the server for a `Table`
//! (`columnDefinitions` + `rows` of `cells`), and prints it. kubectl adds only what the server
//! cannot know: the columns of `-o wide` are those of `priority` 1, a NAMESPACE column goes in
//! front with `-A`, a LABELS column at the end with `--show-labels`, and names get their kind in
//! front (`deployment.apps/web`) when several kinds are printed together.
//!
//! The layout is a tab writer's: every column as wide as its widest cell, three spaces between
//! columns, nothing after the last.

use serde_json::Value;

/// kubectl's additions to a server Table.
#[derive(Clone, Debug, Default)]
pub struct TableOptions {
    /// `-o wide`: also the columns of priority 1.
    pub wide: bool,
    /// `--show-labels`: a LABELS column.
    pub show_labels: bool,
    /// `-A`: a NAMESPACE column first.
    pub namespace_column: bool,
    /// `deployment.apps`: put in front of every name, as `deployment.apps/web`.
    pub kind_prefix: Option<String>,
    /// `--no-headers`.
    pub no_headers: bool,
}

/// A table ready to print: the header (unless hidden) and the rows, as strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Printed {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The server Table's rows with kubectl's columns chosen and added.
pub fn prepare(table: &Value, opts: &TableOptions) -> Printed {
    let empty = Vec::new();
    let columns = table
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let shown: Vec<(usize, &Value)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| opts.wide || c.get("priority").and_then(Value::as_i64).unwrap_or(0) == 0)
        .collect();
    let name_index = columns
        .iter()
        .position(|c| c.get("format").and_then(Value::as_str) == Some("name"));
    let mut header = Vec::new();
    if opts.namespace_column {
        header.push("NAMESPACE".to_string());
    }
    header.extend(
        shown
            .iter()
            .map(|(_, c)| c.get("name").and_then(Value::as_str).unwrap_or("").to_uppercase()),
    );
    if opts.show_labels {
        header.push("LABELS".to_string());
    }
    let rows = table
        .get("rows")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|row| {
            let cells = row.get("cells").and_then(Value::as_array).unwrap_or(&empty);
            let meta = row.pointer("/object/metadata");
            let mut out = Vec::with_capacity(header.len());
            if opts.namespace_column {
                out.push(
                    meta.and_then(|m| m.get("namespace"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                );
            }
            for (i, _) in &shown {
                let mut text = cell_text(cells.get(*i).unwrap_or(&Value::Null));
                if Some(*i) == name_index {
                    if let Some(prefix) = &opts.kind_prefix {
                        text = format!("{prefix}/{text}");
                    }
                }
                out.push(text);
            }
            if opts.show_labels {
                out.push(labels_text(meta.and_then(|m| m.get("labels"))));
            }
            out
        })
        .collect();
    Printed {
        header: if opts.no_headers { Vec::new() } else { header },
        rows,
    }
}

/// The answer itself if it is a Table; else (a server that does not make Tables) the NAME and
/// AGE table kubectl falls back to, made from the list or the object.
pub fn ensure_table(answer: Value) -> Value {
    if answer.get("kind").and_then(Value::as_str) == Some("Table") {
        return answer;
    }
    let objects: Vec<Value> = match answer.get("items").and_then(Value::as_array) {
        Some(items) => items.clone(),
        None => vec![answer.clone()],
    };
    let rows: Vec<Value> = objects
        .into_iter()
        .map(|o| {
            let name = o.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
            let created = o.pointer("/metadata/creationTimestamp").and_then(Value::as_str);
            serde_json::json!({
                "cells": [name, crate::output::age::since(created)],
                "object": {"metadata": o.get("metadata").cloned().unwrap_or(Value::Null)}
            })
        })
        .collect();
    serde_json::json!({
        "kind": "Table",
        "metadata": {"resourceVersion": answer.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null)},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "priority": 0}
        ],
        "rows": rows
    })
}

/// One cell as text: strings as they are, numbers and booleans written out, nothing as `<none>`.
pub fn cell_text(cell: &Value) -> String {
    match cell {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// `app=web,tier=front` (sorted by key), or `<none>`.
pub fn labels_text(labels: Option<&Value>) -> String {
    let Some(map) = labels.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// Column widths: the widest cell of each column.
pub fn widths(printed: &Printed) -> Vec<usize> {
    let mut widths: Vec<usize> = printed.header.iter().map(|h| h.chars().count()).collect();
    for row in &printed.rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(slot) => *slot = (*slot).max(w),
                None => widths.push(w),
            }
        }
    }
    widths
}

/// One line: cells padded to `widths`, three spaces apart, no trailing space.
pub fn line(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        out.push_str(cell);
        if i + 1 < cells.len() {
            let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.chars().count()) + 3;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.push('\n');
    out
}

/// The whole table as text.
pub fn render(printed: &Printed) -> String {
    let widths = widths(printed);
    let mut out = String::new();
    if !printed.header.is_empty() {
        out.push_str(&line(&printed.header, &widths));
    }
    for row in &printed.rows {
        out.push_str(&line(row, &widths));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> Value {
        json!({
            "kind": "Table",
            "columnDefinitions": [
                {"name": "Name", "format": "name", "priority": 0},
                {"name": "Ready", "priority": 0},
                {"name": "Up-to-date", "priority": 0},
                {"name": "Node", "priority": 1}
            ],
            "rows": [
                {"cells": ["web", "1/1", 3, null], "object": {"metadata": {"name": "web", "namespace": "a", "labels": {"b": "2", "a": "1"}}}},
                {"cells": ["database", "0/1", 0, "node-1"], "object": {"metadata": {"name": "database", "namespace": "bb"}}}
            ]
        })
    }

    #[test]
    fn lists_without_a_table_get_name_and_age() {
        let list = json!({"kind": "PodList", "metadata": {"resourceVersion": "5"},
                          "items": [{"metadata": {"name": "a", "creationTimestamp": "1990-01-01T00:00:00Z"}}]});
        let table = ensure_table(list);
        let printed = prepare(&table, &TableOptions::default());
        assert_eq!(printed.header, ["NAME", "AGE"]);
        assert_eq!(printed.rows[0][0], "a");
        assert!(printed.rows[0][1].ends_with('y'), "{:?}", printed.rows);
        assert_eq!(table["metadata"]["resourceVersion"], "5");
    }

    #[test]
    fn plain_table() {
        let text = render(&prepare(&table(), &TableOptions::default()));
        assert_eq!(
            text,
            "NAME       READY   UP-TO-DATE\nweb        1/1     3\ndatabase   0/1     0\n"
        );
    }

    #[test]
    fn wide_all_namespaces_labels_and_kinds() {
        let opts = TableOptions {
            wide: true,
            show_labels: true,
            namespace_column: true,
            kind_prefix: Some("deployment.apps".into()),
            no_headers: false,
        };
        let printed = prepare(&table(), &opts);
        assert_eq!(
            printed.header,
            ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "NODE", "LABELS"]
        );
        assert_eq!(
            printed.rows[0],
            ["a", "deployment.apps/web", "1/1", "3", "<none>", "a=1,b=2"]
        );
        assert_eq!(printed.rows[1][5], "<none>");
        let no_headers = prepare(
            &table(),
            &TableOptions {
                no_headers: true,
                ..Default::default()
            },
        );
        assert!(no_headers.header.is_empty());
        assert_eq!(render(&no_headers).lines().count(), 2);
    }
}

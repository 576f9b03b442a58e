//! The layout of `describe`: `Key:  value` lines whose values line up, nested sections, and
//! small tables (conditions, events), as kubectl's tab writer lays them out.
//!
//! In kubectl, consecutive `Key:\tvalue` lines share one column: the values start two spaces
//! after the longest key of the run, whatever its indent; a line with no value (`Containers:`)
//! ends the run. A value of several lines (labels) continues under the first one.

use serde_json::Value;

enum Block {
    Pairs(Vec<(usize, String, String)>),
    Line(usize, String),
    Table(usize, Vec<Vec<String>>),
}

/// A describe page being built.
#[derive(Default)]
pub struct Doc {
    blocks: Vec<Block>,
}

impl Doc {
    /// `Key:  value` at an indent level (two spaces each).
    pub fn kv(&mut self, level: usize, key: &str, value: impl Into<String>) {
        let entry = (level * 2, format!("{key}:"), value.into());
        if let Some(Block::Pairs(pairs)) = self.blocks.last_mut() {
            pairs.push(entry);
        } else {
            self.blocks.push(Block::Pairs(vec![entry]));
        }
    }

    /// A line of its own (`Containers:`), which ends the current run of pairs.
    pub fn line(&mut self, level: usize, text: impl Into<String>) {
        self.blocks.push(Block::Line(level * 2, text.into()));
    }

    /// Rows of cells, the first one a header, columns two spaces apart.
    pub fn table(&mut self, level: usize, rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table(level * 2, rows));
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Line(indent, text) => {
                    out.push_str(&" ".repeat(*indent));
                    out.push_str(text);
                    out.push('\n');
                }
                Block::Pairs(pairs) => {
                    let width = pairs.iter().map(|(i, k, _)| i + k.chars().count()).max().unwrap_or(0) + 2;
                    for (indent, key, value) in pairs {
                        let head = format!("{}{key}", " ".repeat(*indent));
                        let mut lines = value.split('\n');
                        let first = lines.next().unwrap_or("");
                        if first.is_empty() {
                            out.push_str(head.trim_end());
                        } else {
                            out.push_str(&format!("{head:<width$}{first}"));
                        }
                        out.push('\n');
                        for more in lines {
                            out.push_str(&format!("{:width$}{more}\n", ""));
                        }
                    }
                }
                Block::Table(indent, rows) => {
                    let mut widths: Vec<usize> = Vec::new();
                    for row in rows {
                        for (i, cell) in row.iter().enumerate() {
                            let w = cell.chars().count();
                            if i >= widths.len() {
                                widths.push(w);
                            } else {
                                widths[i] = widths[i].max(w);
                            }
                        }
                    }
                    for row in rows {
                        let mut line = " ".repeat(*indent);
                        for (i, cell) in row.iter().enumerate() {
                            if i + 1 < row.len() {
                                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                            } else {
                                line.push_str(cell);
                            }
                        }
                        out.push_str(line.trim_end());
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

/// A string field, or `""`.
pub fn s<'v>(v: &'v Value, path: &str) -> &'v str {
    v.pointer(path).and_then(Value::as_str).unwrap_or("")
}

/// A string field, or `<none>`.
pub fn or_none(v: &Value, path: &str) -> String {
    match v.pointer(path) {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => "<none>".into(),
    }
}

/// `k=v` lines, sorted, or `<none>`.
pub fn map_lines(v: Option<&Value>, sep: &str) -> String {
    match v.and_then(Value::as_object).filter(|m| !m.is_empty()) {
        None => "<none>".into(),
        Some(m) => {
            let mut lines: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    format!("{k}{sep}{}", text.trim_end())
                })
                .collect();
            lines.sort();
            lines.join("\n")
        }
    }
}

/// An RFC 3339 time as kubectl shows it (`Mon, 02 Jan 2006 15:04:05 +0000`).
pub fn time(v: &Value, path: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s(v, path)) {
        Ok(t) => t.format("%a, %d %b %Y %H:%M:%S %z").to_string(),
        Err(_) => "<unset>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_line_up_and_lines_break_runs() {
        let mut d = Doc::default();
        d.kv(0, "Name", "web");
        d.kv(0, "Service Account", "default");
        d.kv(0, "Labels", "a=1\nb=2");
        d.line(0, "Containers:");
        d.kv(1, "web", "");
        d.kv(2, "Image", "x");
        d.table(
            1,
            vec![
                vec!["Type".into(), "Status".into()],
                vec!["Ready".into(), "True".into()],
            ],
        );
        let text = d.render();
        let expected = "\
Name:             web
Service Account:  default
Labels:           a=1
                  b=2
Containers:
  web:
    Image:  x
  Type   Status
  Ready  True
";
        assert_eq!(text, expected);
    }
}

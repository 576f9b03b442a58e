//! A YAML writer for JSON values, in the style `kubectl get -o yaml` prints.
//!
//! kubectl turns objects into YAML through JSON, so its output has a recognisable shape: keys in
//! alphabetical order, lists not indented under their key (`containers:` then `- name: web`),
//! `{}` and `[]` for empty maps and lists, strings quoted only when they would otherwise read
//! back as something else (`"1"`, `"true"`, `"2025-01-01T00:00:00Z"` in double quotes; `'*'` or
//! `'- x'` in single quotes), and multi-line strings as `|` blocks. Writing it here, rather than
//! through a generic serializer, keeps that shape exact and lets any YAML reader (serde-saphyr
//! included) read it back to the same value.

use serde_json::{Map, Value};

/// The YAML document for `value` (ending with a newline). Keys are sorted, as kubectl's are.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0, false),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A map at `indent`; with `inline_first`, the first key follows a `- ` already written.
fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize, inline_first: bool) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push_str(&string_scalar(key, indent));
        out.push(':');
        write_value(out, &map[key], indent, true);
    }
}

/// A list at `indent`; with `inline_first`, the first `- ` follows one already written.
fn write_seq(out: &mut String, items: &[Value], indent: usize, inline_first: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                write_map(out, map, indent + 2, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push(' ');
                write_seq(out, inner, indent + 2, true);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other, indent));
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`; maps nest two deeper, lists stay at the key's indent.
fn write_value(out: &mut String, value: &Value, indent: usize, _after_key: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2, false);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent, false);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent));
            out.push('\n');
        }
    }
}

/// A scalar (or an empty map/list) as it appears after `key: ` or `- ` at `indent`.
fn scalar(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_scalar(s, indent),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn string_scalar(s: &str, indent: usize) -> String {
    if s.contains('\n') && !s.starts_with(' ') && !s.chars().any(|c| c.is_control() && c != '\n') {
        return block(s, indent + 2);
    }
    if reads_as_other_type(s) || s.chars().any(|c| c.is_control()) {
        return serde_json::to_string(s).unwrap_or_default();
    }
    if !plain_is_safe(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

/// A `|` block: `|-` when the text has no final newline, `|+` when it has several.
fn block(s: &str, indent: usize) -> String {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', indent));
            out.push_str(line);
        }
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    out
}

/// Strings a YAML 1.1 reader would take for a bool, null, number or timestamp.
fn reads_as_other_type(s: &str) -> bool {
    const WORDS: [&str; 13] = [
        "", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", ".nan",
    ];
    let lower = s.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) || lower == "-.inf" || lower == "+.inf" {
        return true;
    }
    let digits = s.trim_start_matches(['+', '-']).replace('_', "");
    if !digits.is_empty() && (digits.parse::<f64>().is_ok() && !digits.ends_with(['.', 'e', 'E'])) {
        return true;
    }
    if lower.starts_with("0x") || lower.starts_with("0b") || lower.starts_with("0o") {
        return true;
    }
    // A date or timestamp: 2025-01-01...
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

/// Whether `s` can be written without quotes and read back as the same string.
fn plain_is_safe(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    if "?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if first == '-' && (s.len() == 1 || s.as_bytes()[1] == b' ') {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    !(s.contains(": ") || s.contains(" #") || s.contains('\t'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_shape() {
        let v = json!({
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": "web", "labels": {}, "annotations": {"rev": "1", "t": "2025-01-01T00:00:00Z"}},
            "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80}], "args": []}]},
            "list": [[1, 2], []],
        });
        let expected = "\
apiVersion: v1
kind: Pod
list:
- - 1
  - 2
- []
metadata:
  annotations:
    rev: \"1\"
    t: \"2025-01-01T00:00:00Z\"
  labels: {}
  name: web
spec:
  containers:
  - args: []
    name: web
    ports:
    - containerPort: 80
";
        assert_eq!(to_yaml(&v), expected);
    }

    #[test]
    fn strings_are_quoted_only_when_needed() {
        for (s, want) in [
            ("plain", "plain"),
            ("", "\"\""),
            ("true", "\"true\""),
            ("No", "\"No\""),
            ("null", "\"null\""),
            ("8080", "\"8080\""),
            ("1.5", "\"1.5\""),
            ("0x1f", "\"0x1f\""),
            ("*", "'*'"),
            ("- x", "'- x'"),
            ("a: b", "'a: b'"),
            ("it's: x", "'it''s: x'"),
            ("app=web,tier", "app=web,tier"),
            ("-x", "-x"),
            ("kubelab/demo:latest", "kubelab/demo:latest"),
            ("tab\there", "\"tab\\there\""),
        ] {
            assert_eq!(string_scalar(s, 0), want, "{s:?}");
        }
    }

    #[test]
    fn multiline_strings_are_blocks_and_read_back() {
        let v = json!({"a": "one\ntwo\n", "b": "x\n\ny", "c": ["l1\nl2\n\n"], "d": {}, "e": "5"});
        let text = to_yaml(&v);
        assert!(text.contains("a: |\n  one\n  two\n"), "{text}");
        assert!(text.contains("b: |-\n  x\n\n  y\n"), "{text}");
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, v, "{text}");
    }

    #[test]
    fn everything_reads_back_unchanged() {
        let v = json!({
            "s": ["true", "1e3", "-", "?", "#x", "a #b", " lead", "trail ", "x:", "@at", "%p", "2025-01-02", "é"],
            "n": [1, -2, 1.5, null, false],
            "nested": [{"a": [{"b": {"c": []}}]}],
        });
        let text = to_yaml(&v);
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, v, "{text}");
    }
}

//! The naming rules Kubernetes applies to object names, label keys and values, port names and
//! data keys.
//!
//! Names end up in DNS (a Service `web` becomes `web.default.svc.cluster.local`), in URLs and in
//! file names inside containers (ConfigMap keys), so each place has a rule that keeps the name
//! safe there. Every function here returns the list of problems found (empty when the text is
//! fine), worded as kube-apiserver words them, so a student sees the same message from kubelab as
//! from a real cluster.

pub const DNS1123_LABEL_MAX: usize = 63;
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

fn max_len_msg(max: usize) -> String {
    format!("must be no more than {max} characters")
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn label_shape(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && is_lower_alnum(b[0])
        && is_lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

/// A DNS label (RFC 1123): at most 63 characters, lower-case letters, digits and `-`.
/// Namespaces and container names follow it.
pub fn dns1123_label(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if text.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_msg(DNS1123_LABEL_MAX));
    }
    if !label_shape(text) {
        errs.push(DNS1123_LABEL_MSG.to_string());
    }
    errs
}

/// A DNS subdomain (RFC 1123): dot-separated labels, at most 253 characters. Most object names
/// (Pods, Deployments, ConfigMaps) follow it.
pub fn dns1123_subdomain(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if text.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_msg(DNS1123_SUBDOMAIN_MAX));
    }
    if !text.split('.').all(label_shape) {
        errs.push(DNS1123_SUBDOMAIN_MSG.to_string());
    }
    errs
}

/// A DNS-1035 label: like a DNS-1123 label but starting with a letter. Service names follow it,
/// because they become environment variable prefixes and host names.
pub fn dns1035_label(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if text.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_msg(DNS1123_LABEL_MAX));
    }
    if !label_shape(text) || !text.as_bytes()[0].is_ascii_lowercase() {
        errs.push(DNS1035_LABEL_MSG.to_string());
    }
    errs
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the shape of label names and values.
fn qualified_shape(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
}

/// A qualified name, the form of label and annotation keys: an optional DNS-subdomain prefix
/// and `/`, then a name of at most 63 characters (`app.kubernetes.io/name`).
pub fn qualified_name(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match text.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            errs.extend(
                dns1123_subdomain(prefix)
                    .into_iter()
                    .map(|m| format!("prefix part {m}")),
            );
        }
        if name.contains('/') {
            errs.push(format!("a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
            return errs;
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else {
        if name.len() > DNS1123_LABEL_MAX {
            errs.push(format!("name part {}", max_len_msg(DNS1123_LABEL_MAX)));
        }
        if !qualified_shape(name) {
            errs.push(QUALIFIED_NAME_MSG.to_string());
        }
    }
    errs
}

/// A label value: empty, or at most 63 characters shaped like a qualified name's name part.
pub fn label_value(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if text.len() > DNS1123_LABEL_MAX {
        errs.push(max_len_msg(DNS1123_LABEL_MAX));
    }
    if !text.is_empty() && !qualified_shape(text) {
        errs.push(LABEL_VALUE_MSG.to_string());
    }
    errs
}

/// A port name (IANA service name): at most 15 characters, lower-case letters, digits and `-`,
/// with at least one letter, so `http` cannot be mistaken for a port number.
pub fn iana_svc_name(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if text.len() > 15 {
        errs.push(max_len_msg(15));
    }
    if !text.bytes().all(|c| is_lower_alnum(c) || c == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if text.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if !text.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if text.starts_with('-') || text.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// A key of a ConfigMap or Secret: it becomes a file name when mounted, so it is limited to
/// letters, digits, `-`, `_` and `.`, and may not be `.` or `..`.
pub fn config_map_key(text: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if text.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_msg(DNS1123_SUBDOMAIN_MAX));
    }
    if text.is_empty()
        || !text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
    {
        errs.push(CONFIG_KEY_MSG.to_string());
    }
    if text == "." {
        errs.push("must not be '.'".to_string());
    } else if text == ".." {
        errs.push("must not be '..'".to_string());
    } else if text.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

/// An environment variable name: printable ASCII other than `=` (Kubernetes 1.32's relaxed rule).
pub fn env_var_name(text: &str) -> Vec<String> {
    if text.is_empty() || !text.bytes().all(|c| (b' '..=b'~').contains(&c) && c != b'=') {
        vec![
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .to_string(),
        ]
    } else {
        Vec::new()
    }
}

/// A port number: 1 to 65535.
pub fn port_number(port: i32) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec!["must be between 1 and 65535, inclusive".to_string()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(dns1123_label("web-1").is_empty());
        assert!(!dns1123_label("Web").is_empty());
        assert!(!dns1123_label("-web").is_empty());
        assert!(!dns1123_label("a.b").is_empty());
        assert_eq!(
            dns1123_label(&"a".repeat(64)),
            vec!["must be no more than 63 characters"]
        );
        assert!(dns1123_subdomain("web.example.com").is_empty());
        assert!(!dns1123_subdomain("web..x").is_empty());
        assert!(!dns1123_subdomain("").is_empty());
        assert!(dns1035_label("web").is_empty());
        assert!(!dns1035_label("1web").is_empty());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(qualified_name("app").is_empty());
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(!qualified_name("/name").is_empty());
        assert!(!qualified_name("Example.com/name").is_empty());
        assert!(!qualified_name("a/b/c").is_empty());
        assert!(!qualified_name("-app").is_empty());
        assert!(label_value("").is_empty());
        assert!(label_value("My_Value.1").is_empty());
        assert!(!label_value("bad value").is_empty());
    }

    #[test]
    fn port_names_and_keys() {
        assert!(iana_svc_name("http").is_empty());
        assert!(iana_svc_name("http-metrics").is_empty());
        assert!(!iana_svc_name("8080").is_empty());
        assert!(!iana_svc_name("HTTP").is_empty());
        assert!(!iana_svc_name("a-very-long-port-name").is_empty());
        assert!(!iana_svc_name("a--b").is_empty());
        assert!(config_map_key("app.properties").is_empty());
        assert!(!config_map_key("a/b").is_empty());
        assert!(!config_map_key("..data").is_empty());
        assert!(port_number(80).is_empty());
        assert!(!port_number(0).is_empty());
        assert!(!port_number(65536).is_empty());
    }
}

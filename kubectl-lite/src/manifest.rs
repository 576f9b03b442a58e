//! Reading `-f`: files, directories (`-R` for their subdirectories) and `-` for standard input,
//! each holding one or more YAML documents (`---`) or a JSON object; a `kind: List` stands for
//! its `items`.
//!
//! Every object remembers the file it came from, because kubectl's messages name it
//! (`error when creating "web.yaml": ...`).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{CliError, Result};

/// One object of a manifest, and where it was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The path as given on the command line (or found in a directory), or `STDIN`.
    pub source: String,
    pub object: Value,
}

/// Reads every `-f` argument, in order.
pub fn read_all(paths: &[String], recursive: bool) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for arg in paths {
        if arg == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            docs.extend(parse(&text, "STDIN")?);
            continue;
        }
        let path = Path::new(arg);
        if !path.exists() {
            return Err(CliError::msg(format!("the path \"{arg}\" does not exist")));
        }
        for file in files_of(path, recursive, true)? {
            let source = file.display().to_string();
            let text =
                std::fs::read_to_string(&file).map_err(|e| CliError::msg(format!("cannot read \"{source}\": {e}")))?;
            docs.extend(parse(&text, &source)?);
        }
    }
    Ok(docs)
}

/// A file itself, or the manifests (`.yaml`, `.yml`, `.json`) of a directory, sorted by name.
fn files_of(path: &Path, recursive: bool, top: bool) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !top && !recursive {
        return Ok(Vec::new());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| CliError::msg(format!("cannot read directory \"{}\": {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for entry in entries {
        if entry.is_dir() {
            files.extend(files_of(&entry, recursive, false)?);
        } else if matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            files.push(entry);
        }
    }
    Ok(files)
}

/// The objects of one file's text.
pub fn parse(text: &str, source: &str) -> Result<Vec<Document>> {
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('{') {
        vec![serde_json::from_str(text).map_err(|e| CliError::msg(format!("error parsing {source}: {e}")))?]
    } else {
        serde_saphyr::from_multiple(text).map_err(|e| CliError::msg(format!("error parsing {source}: {e}")))?
    };
    let mut docs = Vec::new();
    for value in values {
        if value.is_null() {
            continue;
        }
        if !value.is_object() {
            return Err(CliError::msg(format!(
                "error validating \"{source}\": a manifest must be a mapping with apiVersion, kind and metadata"
            )));
        }
        let is_list = value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k == "List" || k.ends_with("List"));
        if is_list {
            if let Some(items) = value.get("items").and_then(Value::as_array) {
                docs.extend(items.iter().map(|item| Document {
                    source: source.to_string(),
                    object: item.clone(),
                }));
                continue;
            }
        }
        docs.push(Document {
            source: source.to_string(),
            object: value,
        });
    }
    Ok(docs)
}

/// `apiVersion`, `kind` and `metadata.name` of a document, or kubectl's complaint.
pub fn identity(doc: &Document) -> Result<(&str, &str, &str)> {
    let field = |path: &str| doc.object.pointer(path).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind, name) = (field("/apiVersion"), field("/kind"), field("/metadata/name"));
    let missing = if api_version.is_empty() {
        Some("apiVersion not set")
    } else if kind.is_empty() {
        Some("kind not set")
    } else if name.is_empty() {
        Some("metadata.name not set")
    } else {
        None
    };
    match missing {
        Some(what) => Err(CliError::msg(format!(
            "error validating \"{}\": error validating data: {what}",
            doc.source
        ))),
        None => Ok((api_version, kind, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_lists_and_json() {
        let text = "a: 1\nkind: Pod\n---\n---\nkind: List\nitems:\n- kind: X\n- kind: Z\n";
        let docs = parse(text, "f.yaml").unwrap();
        let kinds: Vec<&str> = docs.iter().map(|d| d.object["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Pod", "X", "Z"]);
        assert_eq!(docs[0].source, "f.yaml");
        let docs = parse("{\"kind\":\"Pod\"}", "f.json").unwrap();
        assert_eq!(docs.len(), 1);
        let err = parse("a: [", "bad.yaml").unwrap_err().to_string();
        assert!(err.starts_with("error: error parsing bad.yaml"), "{err}");
        assert!(parse("- 1\n", "l.yaml").is_err());
    }

    #[test]
    fn identity_names_what_is_missing() {
        let doc = parse("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "p.yaml")
            .unwrap()
            .remove(0);
        let err = identity(&doc).unwrap_err().to_string();
        assert!(err.contains("metadata.name not set") && err.contains("p.yaml"), "{err}");
    }

    #[test]
    fn directories_are_read_in_order_and_recursively_on_request() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yaml"), "kind: B\n").unwrap();
        std::fs::write(dir.path().join("a.json"), "{\"kind\":\"A\"}").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.yml"), "kind: C\n").unwrap();
        let arg = dir.path().display().to_string();
        let kinds = |docs: Vec<Document>| docs.into_iter().map(|d| d.object["kind"].clone()).collect::<Vec<_>>();
        assert_eq!(kinds(read_all(std::slice::from_ref(&arg), false).unwrap()), ["A", "B"]);
        assert_eq!(kinds(read_all(&[arg], true).unwrap()), ["A", "B", "C"]);
        let err = read_all(&["no-such-kubelab-file.yaml".into()], false)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "error: the path \"no-such-kubelab-file.yaml\" does not exist");
    }
}

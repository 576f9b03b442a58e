//! A ConfigMap's or Secret's keys → the files of its volume (pure).
//!
//! Without `items`, every key becomes a file of that name. With `items`, only the listed keys
//! do, each at its `path` (which may have directories: `conf/app.yaml`), and a listed key the
//! object lacks is an error unless the volume is `optional`. Every file gets `mode`, else the
//! volume's `defaultMode`, else 0644. A missing object is an error unless `optional`, and then
//! the volume is an empty directory (which fills in when the object appears).

use std::collections::BTreeMap;

use kubelab_api::core::KeyToPath;

use super::VolumeError;

/// Kubernetes' default file mode of ConfigMap and Secret volumes (0644).
pub const DEFAULT_MODE: u32 = 0o644;

/// One file of a volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub data: Vec<u8>,
    /// Permission bits (0..=0o777).
    pub mode: u32,
}

/// Files by their path relative to the volume's directory.
pub type Payload = BTreeMap<String, File>;

/// Which object a payload comes from, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    ConfigMap,
    Secret,
}

impl Source {
    pub fn kind(self) -> &'static str {
        match self {
            Source::ConfigMap => "configmap",
            Source::Secret => "secret",
        }
    }
}

/// The files of a volume of `source` named `name`, from the object's `data` (`None`: the
/// object does not exist).
pub fn make_payload(
    source: Source,
    name: &str,
    data: Option<&BTreeMap<String, Vec<u8>>>,
    items: &[KeyToPath],
    default_mode: Option<i32>,
    optional: bool,
) -> Result<Payload, VolumeError> {
    let default_mode = mode(default_mode, "defaultMode")?.unwrap_or(DEFAULT_MODE);
    let Some(data) = data else {
        return if optional {
            Ok(Payload::new())
        } else {
            Err(VolumeError::NotFound {
                kind: source.kind(),
                name: name.to_string(),
            })
        };
    };
    let mut payload = Payload::new();
    if items.is_empty() {
        for (key, value) in data {
            check_path(key)?;
            payload.insert(
                key.clone(),
                File {
                    data: value.clone(),
                    mode: default_mode,
                },
            );
        }
        return Ok(payload);
    }
    for item in items {
        check_path(&item.path)?;
        let Some(value) = data.get(&item.key) else {
            if optional {
                continue;
            }
            return Err(VolumeError::MissingKey {
                kind: source.kind(),
                what: if source == Source::Secret { "secret" } else { "config" },
                key: item.key.clone(),
            });
        };
        let file_mode = mode(item.mode, "mode")?.unwrap_or(default_mode);
        payload.insert(
            item.path.clone(),
            File {
                data: value.clone(),
                mode: file_mode,
            },
        );
    }
    Ok(payload)
}

fn mode(value: Option<i32>, field: &'static str) -> Result<Option<u32>, VolumeError> {
    match value {
        None => Ok(None),
        Some(m) if (0..=0o777).contains(&m) => Ok(Some(m.unsigned_abs())),
        Some(m) => Err(VolumeError::BadItem {
            field,
            value: m.to_string(),
            why: "must be between 0 and 0777 (511)",
        }),
    }
}

/// A file path inside a volume: relative, no `..` element, not starting with `..` (the
/// writer's own names start with `..`).
pub fn check_path(path: &str) -> Result<(), VolumeError> {
    let bad = |why| {
        Err(VolumeError::BadItem {
            field: "path",
            value: path.to_string(),
            why,
        })
    };
    if path.is_empty() {
        return bad("must not be empty");
    }
    if path.starts_with('/') {
        return bad("must be a relative path");
    }
    if path.split('/').any(|part| part == "..") {
        return bad("must not contain '..'");
    }
    if path.starts_with("..") {
        return bad("must not start with '..'");
    }
    if path.split('/').any(str::is_empty) {
        return bad("must not contain empty elements");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([("a.conf".to_string(), b"A".to_vec()), ("b".to_string(), b"B".to_vec())])
    }

    fn item(key: &str, path: &str, mode: Option<i32>) -> KeyToPath {
        KeyToPath {
            key: key.into(),
            path: path.into(),
            mode,
        }
    }

    #[test]
    fn every_key_is_a_file_with_the_default_mode() {
        let p = make_payload(Source::ConfigMap, "c", Some(&data()), &[], None, false).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p["a.conf"].data, b"A");
        assert_eq!(p["a.conf"].mode, 0o644);
        let p = make_payload(Source::Secret, "s", Some(&data()), &[], Some(0o400), false).unwrap();
        assert_eq!(p["b"].mode, 0o400);
    }

    #[test]
    fn items_choose_keys_paths_and_modes() {
        let items = [item("a.conf", "conf/app.conf", Some(0o600)), item("b", "b.txt", None)];
        let p = make_payload(Source::ConfigMap, "c", Some(&data()), &items, Some(0o640), false).unwrap();
        assert_eq!(p.keys().collect::<Vec<_>>(), ["b.txt", "conf/app.conf"]);
        assert_eq!(p["conf/app.conf"].mode, 0o600);
        assert_eq!(p["b.txt"].mode, 0o640);
    }

    #[test]
    fn missing_objects_and_keys_in_the_kubelets_words() {
        let err = make_payload(Source::ConfigMap, "app-config", None, &[], None, false).unwrap_err();
        assert_eq!(err.to_string(), "configmap \"app-config\" not found");
        assert!(make_payload(Source::Secret, "s", None, &[], None, true)
            .unwrap()
            .is_empty());
        let items = [item("nope", "x", None)];
        let err = make_payload(Source::ConfigMap, "c", Some(&data()), &items, None, false).unwrap_err();
        assert_eq!(err.to_string(), "configmap references non-existent config key: nope");
        let err = make_payload(Source::Secret, "c", Some(&data()), &items, None, false).unwrap_err();
        assert_eq!(err.to_string(), "secret references non-existent secret key: nope");
        assert!(make_payload(Source::Secret, "c", Some(&data()), &items, None, true)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn paths_stay_inside() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "..data", "a//b"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        for good in ["a", "a/b.conf", ".hidden", "a..b"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        let items = [item("b", "x", Some(0o1777))];
        assert!(make_payload(Source::ConfigMap, "c", Some(&data()), &items, None, false).is_err());
    }
}

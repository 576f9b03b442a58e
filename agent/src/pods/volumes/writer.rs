//! Writing a ConfigMap's files so that a running program never sees half an update (the
//! kubelet's `AtomicWriter`).
//!
//! A program reading `/etc/config/app.yaml` while the ConfigMap changes must see the old file or
//! the new one, and two files of one ConfigMap must never be a mix of versions. Renaming one
//! directory entry is atomic on Linux, so the files live in a fresh directory per version and a
//! single symlink says which version is current:
//!
//! ```text
//! <volume>/
//!   ..2026_11_24_18_40_05.123456789/   one directory per version, the files inside
//!   ..data -> ..2026_11_24_18_40_05.123456789
//!   app.yaml -> ..data/app.yaml        what the container sees (relative: works in the container)
//! ```
//!
//! An update writes the new version's directory, points a temporary symlink `..data_tmp` at it,
//! renames `..data_tmp` over `..data` (the atomic step), fixes the top-level links for keys that
//! came or went, and removes the old version. Nothing is written when the files are unchanged.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use super::payload::{File, Payload};

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Makes `dir` hold exactly `payload`; returns whether anything changed.
pub fn write_atomic(dir: &Path, payload: &Payload) -> io::Result<bool> {
    fs::create_dir_all(dir)?;
    let current = read_current(dir)?;
    if current.as_ref() == Some(payload) {
        return Ok(false);
    }
    let old_version = fs::read_link(dir.join(DATA)).ok();

    // 1. The new version, complete, under a name nobody looks at yet.
    let version = new_version_name(dir);
    let version_dir = dir.join(&version);
    fs::create_dir(&version_dir)?;
    for (path, file) in payload {
        let target = version_dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&target, &file.data)?;
        fs::set_permissions(&target, fs::Permissions::from_mode(file.mode))?;
    }
    fs::set_permissions(&version_dir, fs::Permissions::from_mode(0o755))?;

    // 2. The switch: one rename.
    let tmp = dir.join(DATA_TMP);
    let _ = fs::remove_file(&tmp);
    symlink(&version, &tmp)?;
    fs::rename(&tmp, dir.join(DATA))?;

    // 3. Top-level links: one per first path element, pointing through `..data`.
    let wanted: BTreeSet<&str> = payload.keys().filter_map(|p| p.split('/').next()).collect();
    for name in &wanted {
        let link = dir.join(name);
        let target = Path::new(DATA).join(name);
        if fs::read_link(&link).ok().as_deref() != Some(target.as_path()) {
            let _ = fs::remove_file(&link);
            symlink(&target, &link)?;
        }
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") || wanted.contains(name.as_str()) {
            continue;
        }
        if entry.file_type()?.is_symlink() {
            fs::remove_file(entry.path())?;
        }
    }

    // 4. The old version, which nothing points at any more.
    if let Some(old) = old_version {
        let old = dir.join(old);
        if old != version_dir && old.starts_with(dir) {
            fs::remove_dir_all(old)?;
        }
    }
    Ok(true)
}

/// `..2026_11_24_18_40_05.123456789`, unique in `dir`.
fn new_version_name(dir: &Path) -> String {
    let now = chrono::Utc::now();
    let base = format!("..{}", now.format("%Y_%m_%d_%H_%M_%S.%9f"));
    let mut name = base.clone();
    let mut n = 0;
    while dir.join(&name).exists() {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

/// What the directory holds now (through `..data`); `None` if it was never written.
pub fn read_current(dir: &Path) -> io::Result<Option<Payload>> {
    let data = dir.join(DATA);
    if fs::symlink_metadata(&data).is_err() {
        return Ok(None);
    }
    let mut payload = Payload::new();
    read_into(&data, "", &mut payload)?;
    Ok(Some(payload))
}

fn read_into(dir: &Path, prefix: &str, payload: &mut Payload) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = entry.metadata()?;
        if meta.is_dir() {
            read_into(&entry.path(), &path, payload)?;
        } else {
            let data = fs::read(entry.path())?;
            let mode = meta.permissions().mode() & 0o777;
            payload.insert(path, File { data, mode });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(entries: &[(&str, &str, u32)]) -> Payload {
        entries
            .iter()
            .map(|(p, d, m)| {
                (
                    p.to_string(),
                    File {
                        data: d.as_bytes().to_vec(),
                        mode: *m,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn writes_swaps_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vol");
        let v1 = payload(&[("a", "1", 0o644), ("conf/b.yaml", "b: 1", 0o600)]);
        assert!(write_atomic(&dir, &v1).unwrap());
        assert_eq!(fs::read_to_string(dir.join("a")).unwrap(), "1");
        assert_eq!(fs::read_to_string(dir.join("conf/b.yaml")).unwrap(), "b: 1");
        assert_eq!(fs::read_link(dir.join("a")).unwrap(), Path::new("..data/a"));
        let mode = fs::metadata(dir.join("conf/b.yaml")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_current(&dir).unwrap().as_ref(), Some(&v1));
        let first = fs::read_link(dir.join(DATA)).unwrap();

        // Unchanged: nothing written, the same version stays.
        assert!(!write_atomic(&dir, &v1).unwrap());
        assert_eq!(fs::read_link(dir.join(DATA)).unwrap(), first);

        // Changed: a new version; a key that went loses its link; the old version is removed.
        let v2 = payload(&[("a", "2", 0o644), ("c", "3", 0o644)]);
        assert!(write_atomic(&dir, &v2).unwrap());
        assert_eq!(fs::read_to_string(dir.join("a")).unwrap(), "2");
        assert_eq!(fs::read_to_string(dir.join("c")).unwrap(), "3");
        assert!(fs::symlink_metadata(dir.join("conf")).is_err());
        assert!(!dir.join(&first).exists());
        let versions = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name().to_string_lossy().into_owned();
                n.starts_with("..") && n != DATA
            })
            .count();
        assert_eq!(versions, 1);
        assert!(!dir.join(DATA_TMP).exists());
    }

    #[test]
    fn empty_payload_is_an_empty_volume() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vol");
        assert!(write_atomic(&dir, &Payload::new()).unwrap());
        assert_eq!(read_current(&dir).unwrap(), Some(Payload::new()));
        assert!(write_atomic(&dir, &payload(&[("k", "v", 0o644)])).unwrap());
        assert_eq!(fs::read_to_string(dir.join("k")).unwrap(), "v");
    }
}

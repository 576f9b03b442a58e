//! `hostPath` volumes: a path of the node, checked against the volume's `type` before the pod
//! starts (the kubelet's rules).
//!
//! | `type` | the path must be | if it is missing |
//! | --- | --- | --- |
//! | `""` (unset) | anything | Docker makes a directory |
//! | `DirectoryOrCreate` | a directory | made, mode 0755 |
//! | `Directory` | a directory | error |
//! | `FileOrCreate` | a file | made empty, mode 0644 (its parent directory must exist) |
//! | `File` | a file | error |
//! | `Socket`, `CharDevice`, `BlockDevice` | that kind of file | error |

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use super::VolumeError;

/// The `type` of a `hostPath`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPathType {
    Unset,
    DirectoryOrCreate,
    Directory,
    FileOrCreate,
    File,
    Socket,
    CharDevice,
    BlockDevice,
}

impl HostPathType {
    pub fn parse(text: Option<&str>) -> Result<Self, VolumeError> {
        Ok(match text.unwrap_or_default() {
            "" => HostPathType::Unset,
            "DirectoryOrCreate" => HostPathType::DirectoryOrCreate,
            "Directory" => HostPathType::Directory,
            "FileOrCreate" => HostPathType::FileOrCreate,
            "File" => HostPathType::File,
            "Socket" => HostPathType::Socket,
            "CharDevice" => HostPathType::CharDevice,
            "BlockDevice" => HostPathType::BlockDevice,
            other => return Err(VolumeError::UnknownHostPathType(other.to_string())),
        })
    }
}

/// Checks `path` against `type_`, making it for the `...OrCreate` types.
pub fn check(path: &Path, type_: HostPathType) -> Result<(), VolumeError> {
    let not_a = |what| VolumeError::HostPathType {
        path: path.display().to_string(),
        what,
    };
    let meta = fs::metadata(path);
    match type_ {
        HostPathType::Unset => Ok(()),
        HostPathType::DirectoryOrCreate => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(not_a("directory")),
            Err(_) => {
                fs::create_dir_all(path).map_err(|e| VolumeError::io(path, e))?;
                fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|e| VolumeError::io(path, e))
            }
        },
        HostPathType::Directory => match meta {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(not_a("directory")),
        },
        HostPathType::FileOrCreate => match meta {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => Err(not_a("file")),
            Err(_) => {
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| VolumeError::io(path, e))?;
                fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(|e| VolumeError::io(path, e))
            }
        },
        HostPathType::File => match meta {
            Ok(m) if m.is_file() => Ok(()),
            _ => Err(not_a("file")),
        },
        HostPathType::Socket => match meta {
            Ok(m) if m.file_type().is_socket() => Ok(()),
            _ => Err(not_a("socket file")),
        },
        HostPathType::CharDevice => match meta {
            Ok(m) if m.file_type().is_char_device() => Ok(()),
            _ => Err(not_a("character device")),
        },
        HostPathType::BlockDevice => match meta {
            Ok(m) if m.file_type().is_block_device() => Ok(()),
            _ => Err(not_a("block device")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse() {
        assert_eq!(HostPathType::parse(None).unwrap(), HostPathType::Unset);
        assert_eq!(HostPathType::parse(Some("File")).unwrap(), HostPathType::File);
        assert_eq!(
            HostPathType::parse(Some("Folder")).unwrap_err().to_string(),
            "invalid hostPath type \"Folder\""
        );
    }

    #[test]
    fn checks_and_creates() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let file = tmp.path().join("f");
        assert_eq!(
            check(&dir, HostPathType::Directory).unwrap_err().to_string(),
            format!("hostPath type check failed: {} is not a directory", dir.display())
        );
        check(&dir, HostPathType::DirectoryOrCreate).unwrap();
        assert!(dir.is_dir());
        check(&dir, HostPathType::Directory).unwrap();
        assert!(check(&dir, HostPathType::File).is_err());
        assert!(check(&dir, HostPathType::FileOrCreate).is_err());

        assert!(check(&file, HostPathType::File).is_err());
        check(&file, HostPathType::FileOrCreate).unwrap();
        assert!(file.is_file());
        check(&file, HostPathType::File).unwrap();
        assert_eq!(
            check(&file, HostPathType::Socket).unwrap_err().to_string(),
            format!("hostPath type check failed: {} is not a socket file", file.display())
        );
        assert!(check(&file, HostPathType::DirectoryOrCreate).is_err());
        check(&tmp.path().join("anything"), HostPathType::Unset).unwrap();
        // FileOrCreate does not make parent directories.
        assert!(check(&tmp.path().join("no/such/f"), HostPathType::FileOrCreate).is_err());
    }
}

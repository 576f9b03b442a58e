//! # The build context: a whole root file system in one in-memory tar
//!
//! `docker build` receives its "context" as a tar stream. Ours holds a tiny root file system for a
//! `FROM scratch` image: the program, every shared library it loads, the dynamic loader that loads
//! them, and the few files a Unix program expects (`/etc/passwd`, `/tmp`, `/etc/nsswitch.conf`).
//!
//! Why copy libraries instead of linking statically: a Rust binary built for the usual
//! `x86_64-unknown-linux-gnu` target links glibc dynamically. A static build needs the musl target,
//! which a machine with no internet access may not have. Copying what `ldd` lists works with the
//! toolchain every developer already has, and glibc ≥ 2.34 carries DNS resolution inside libc
//! itself, so name lookups work without the separate `libnss_*` plugins.
//!
//! The tar is deterministic (fixed order, owner and modification time), so the hash of its bytes
//! names the image's content: the same binary and libraries give the same hash, and a rebuilt
//! binary gives a new one, which is how `ensure_images` knows an image is stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ImageError;

/// One file to put into the image, at `target` (an absolute path inside the image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextFile {
    /// Where the file lives in the image, e.g. `/lib/x86_64-linux-gnu/libc.so.6`.
    pub target: String,
    /// The bytes of the file.
    pub data: Vec<u8>,
    /// Unix permission bits.
    pub mode: u32,
}

/// A complete build context: the Dockerfile plus a root file system, ready to tar.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Files of the root file system, keyed by their path in the image (sorted, so the tar is stable).
    pub files: BTreeMap<String, ContextFile>,
    /// Empty directories to create (such as `/tmp`), with their mode.
    pub dirs: BTreeMap<String, u32>,
}

/// Where the program sits inside every image kubelab builds.
pub fn binary_target(binary_name: &str) -> String {
    format!("/bin/{binary_name}")
}

impl BuildContext {
    /// Gathers the context for `binary`: the binary itself at `/bin/<name>`, its shared libraries
    /// at the paths the loader will look for them, and the Dockerfile that copies it all in.
    /// `cmd` is the image's default arguments (`CMD`), `None` for none.
    pub fn for_binary(binary: &Path, cmd: Option<&[&str]>) -> Result<Self, ImageError> {
        let name = binary
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ImageError::MissingBinary {
                path: binary.to_path_buf(),
            })?
            .to_string();
        let data = read(binary)?;
        let libs = shared_libraries(binary)?;
        let mut ctx = BuildContext::new(&name, cmd);
        ctx.add_file(&binary_target(&name), data, 0o755);
        for lib in libs {
            let bytes = read(&lib)?;
            // The library goes to the same path it has on this machine: that is where the loader
            // (and the path baked into the binary for the loader itself) expects it.
            ctx.add_file(&lib.to_string_lossy(), bytes, 0o755);
        }
        Ok(ctx)
    }

    /// A context with the Dockerfile and the base files, but no program yet.
    pub fn new(binary_name: &str, cmd: Option<&[&str]>) -> Self {
        let mut ctx = BuildContext {
            dockerfile: dockerfile(binary_name, cmd),
            files: BTreeMap::new(),
            dirs: BTreeMap::new(),
        };
        ctx.add_file(
            "/etc/passwd",
            b"root:x:0:0:root:/:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n".to_vec(),
            0o644,
        );
        ctx.add_file("/etc/group", b"root:x:0:\nnogroup:x:65534:\n".to_vec(), 0o644);
        // glibc reads this to decide where host names come from: /etc/hosts first (Docker writes
        // the pod's own name there), then DNS (Docker's embedded server, which knows Services).
        ctx.add_file("/etc/nsswitch.conf", b"hosts: files dns\n".to_vec(), 0o644);
        ctx.dirs.insert("/tmp".to_string(), 0o1777);
        ctx.dirs.insert("/data".to_string(), 0o755);
        ctx
    }

    /// Adds (or replaces) one file of the root file system.
    pub fn add_file(&mut self, target: &str, data: Vec<u8>, mode: u32) {
        let target = format!("/{}", target.trim_start_matches('/'));
        self.files.insert(target.clone(), ContextFile { target, data, mode });
    }

    /// The tar stream Docker's `/build` endpoint takes: `Dockerfile` at the top and the root file
    /// system under `rootfs/`, which the Dockerfile copies to `/` in one layer.
    pub fn to_tar(&self) -> Result<Vec<u8>, ImageError> {
        let mut builder = tar::Builder::new(Vec::new());
        let io = |e: std::io::Error| ImageError::Context(e.to_string());
        append(&mut builder, "Dockerfile", self.dockerfile.as_bytes(), 0o644).map_err(io)?;
        let mut parents = std::collections::BTreeSet::new();
        for path in self.files.keys().chain(self.dirs.keys()) {
            let mut p = Path::new(path.as_str()).parent();
            while let Some(dir) = p {
                if dir != Path::new("/") {
                    parents.insert(dir.to_string_lossy().into_owned());
                }
                p = dir.parent();
            }
        }
        append_dir(&mut builder, "rootfs", 0o755).map_err(io)?;
        for dir in &parents {
            let mode = self.dirs.get(dir).copied().unwrap_or(0o755);
            append_dir(&mut builder, &format!("rootfs{dir}"), mode).map_err(io)?;
        }
        for (dir, mode) in &self.dirs {
            if !parents.contains(dir) {
                append_dir(&mut builder, &format!("rootfs{dir}"), *mode).map_err(io)?;
            }
        }
        for file in self.files.values() {
            append(&mut builder, &format!("rootfs{}", file.target), &file.data, file.mode).map_err(io)?;
        }
        builder.into_inner().map_err(io)
    }
}

fn dockerfile(binary_name: &str, cmd: Option<&[&str]>) -> String {
    let entry = binary_target(binary_name);
    let mut text = format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"{entry}\"]\n");
    if let Some(args) = cmd {
        let quoted: Vec<String> = args
            .iter()
            .map(|a| format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        text.push_str(&format!("CMD [{}]\n", quoted.join(", ")));
    }
    text
}

fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    // A fixed time keeps the tar, and so the content hash, the same from one build to the next.
    h.set_mtime(0);
    h
}

fn append(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut h = header(data.len() as u64, mode, tar::EntryType::Regular);
    b.append_data(&mut h, path, data)
}

fn append_dir(b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) -> std::io::Result<()> {
    let mut h = header(0, mode, tar::EntryType::Directory);
    b.append_data(&mut h, format!("{path}/"), std::io::empty())
}

fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ImageError::MissingBinary {
                path: path.to_path_buf(),
            }
        } else {
            ImageError::Read {
                path: path.to_path_buf(),
                source: e,
            }
        }
    })
}

/// The shared libraries (and the dynamic loader) that `binary` needs, as `ldd` reports them.
/// A statically linked binary needs none.
pub fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, ImageError> {
    if !binary.exists() {
        return Err(ImageError::MissingBinary {
            path: binary.to_path_buf(),
        });
    }
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| ImageError::Ldd {
            path: binary.to_path_buf(),
            message: format!("cannot run ldd: {e}"),
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stdout.contains("not a dynamic executable") || stderr.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        return Err(ImageError::Ldd {
            path: binary.to_path_buf(),
            message: stderr.trim().to_string(),
        });
    }
    parse_ldd(&stdout).map_err(|message| ImageError::Ldd {
        path: binary.to_path_buf(),
        message,
    })
}

/// Reads `ldd`'s output. Its lines come in three shapes:
///
/// ```text
///     linux-vdso.so.1 (0x00007ffd...)                       # in the kernel: nothing to copy
///     libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)   # a library and where it was found
///     /lib64/ld-linux-x86-64.so.2 (0x...)                   # the loader, by its absolute path
/// ```
///
/// A library `ldd` could not find (`=> not found`) is an error: the image would not start.
pub fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, String> {
    let mut libs = Vec::new();
    for line in output.lines() {
        let line = line.trim();
        if line.is_empty() || line.contains("statically linked") {
            continue;
        }
        let path = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    return Err(format!("shared library {} not found", name.trim()));
                }
                rest.split_whitespace().next().unwrap_or("")
            }
            None => line.split_whitespace().next().unwrap_or(""),
        };
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    libs.sort();
    libs.dedup();
    Ok(libs)
}

/// A content hash of a build context, as 16 hex digits (64-bit FNV-1a). This detects change, it
/// does not defend against anyone: nobody gains by forging the label of their own local image.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn entries(tar_bytes: &[u8]) -> BTreeMap<String, (tar::EntryType, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut out = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.insert(path, (kind, mode, data));
        }
        out
    }

    #[test]
    fn parses_the_three_shapes_of_ldd_lines() {
        let out = "\tlinux-vdso.so.1 (0x00007ffc5d1f3000)\n\
                   \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0e1c5b0000)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e1c3cf000)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1c62c000)\n";
        let libs = parse_ldd(out).unwrap();
        assert_eq!(
            libs,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn a_missing_library_is_an_error() {
        let err = parse_ldd("\tlibfoo.so.1 => not found\n").unwrap_err();
        assert!(err.contains("libfoo.so.1"), "{err}");
    }

    #[test]
    fn the_tar_holds_the_dockerfile_the_binary_and_its_libraries() {
        // The test binary itself is a dynamically linked Rust program, just like ours.
        let me = std::env::current_exe().unwrap();
        let ctx = BuildContext::for_binary(&me, Some(&["web"])).unwrap();
        let name = me.file_name().unwrap().to_string_lossy().into_owned();
        let tar_bytes = ctx.to_tar().unwrap();
        let entries = entries(&tar_bytes);

        let (_, _, dockerfile) = &entries["Dockerfile"];
        let dockerfile = String::from_utf8(dockerfile.clone()).unwrap();
        assert!(dockerfile.starts_with("FROM scratch\n"), "{dockerfile}");
        assert!(
            dockerfile.contains(&format!("ENTRYPOINT [\"/bin/{name}\"]")),
            "{dockerfile}"
        );
        assert!(dockerfile.contains("CMD [\"web\"]"), "{dockerfile}");

        let (kind, mode, data) = &entries[&format!("rootfs/bin/{name}")];
        assert_eq!(*kind, tar::EntryType::Regular);
        assert_eq!(*mode, 0o755);
        assert_eq!(data.len() as u64, std::fs::metadata(&me).unwrap().len());

        let libs: Vec<&String> = entries.keys().filter(|p| p.contains(".so")).collect();
        assert!(libs.iter().any(|p| p.contains("libc.so")), "{libs:?}");
        assert!(libs.iter().any(|p| p.contains("ld-linux")), "{libs:?}");
        for lib in shared_libraries(&me).unwrap() {
            let key = format!("rootfs{}", lib.display());
            assert!(entries.contains_key(&key), "{key} missing");
        }
        assert!(entries.contains_key("rootfs/etc/passwd"));
        let (kind, mode, _) = &entries["rootfs/tmp/"];
        assert_eq!((*kind, *mode), (tar::EntryType::Directory, 0o1777));
        // Every file's parent directory comes first, as a tar extractor expects.
        assert!(entries.contains_key("rootfs/etc/"));
        assert!(entries.contains_key("rootfs/bin/"));
    }

    #[test]
    fn the_tar_and_its_hash_are_deterministic() {
        let mut a = BuildContext::new("prog", None);
        a.add_file("/bin/prog", b"one".to_vec(), 0o755);
        let mut b = BuildContext::new("prog", None);
        b.add_file("/bin/prog", b"one".to_vec(), 0o755);
        assert_eq!(content_hash(&a.to_tar().unwrap()), content_hash(&b.to_tar().unwrap()));

        // A rebuilt binary is a new hash, so the image is rebuilt.
        b.add_file("/bin/prog", b"two".to_vec(), 0o755);
        assert_ne!(content_hash(&a.to_tar().unwrap()), content_hash(&b.to_tar().unwrap()));
    }

    #[test]
    fn fnv_matches_its_published_vectors() {
        assert_eq!(content_hash(b""), "cbf29ce484222325");
        assert_eq!(content_hash(b"a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn a_missing_binary_names_its_path() {
        let err = BuildContext::for_binary(Path::new("/nonexistent/kubelab-pause"), None).unwrap_err();
        assert!(matches!(err, ImageError::MissingBinary { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/kubelab-pause"), "{err}");
    }

    #[test]
    fn dockerfile_without_cmd_has_only_an_entrypoint() {
        let text = dockerfile("kubelab-pause", None);
        assert_eq!(
            text,
            "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/bin/kubelab-pause\"]\n"
        );
    }
}

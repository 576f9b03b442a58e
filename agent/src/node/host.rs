//! Facts about the machine, for `status.nodeInfo` and the node's capacity.
//!
//! The kubelet reads these from the operating system: `/etc/machine-id`, the boot id, the kernel
//! release, `/etc/os-release`, `/proc/meminfo`, the number of CPUs. kubelab does the same, and
//! falls back to made-up but stable values where a file is missing (a container, another OS),
//! so a node always reports all ten `nodeInfo` fields. The host is read once per process: a
//! process running 500 hollow nodes does not read `/proc` 500 times.

use std::sync::OnceLock;

/// What the host says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct HostFacts {
    pub machine_id: Option<String>,
    pub boot_id: String,
    pub kernel_version: String,
    pub os_image: String,
    /// Total memory in bytes, if known.
    pub memory_bytes: Option<i64>,
    pub cpus: usize,
}

/// The host's facts, read on first use.
pub fn host_facts() -> &'static HostFacts {
    static FACTS: OnceLock<HostFacts> = OnceLock::new();
    FACTS.get_or_init(read_host)
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn read_host() -> HostFacts {
    HostFacts {
        machine_id: read("/etc/machine-id").or_else(|| read("/var/lib/dbus/machine-id")),
        boot_id: read("/proc/sys/kernel/random/boot_id").unwrap_or_else(|| {
            // No boot id: one made up per process start, which is what a boot id tells apart.
            let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
            uuid_like(&format!("boot-{nanos}-{}", std::process::id()))
        }),
        kernel_version: read("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()),
        os_image: read("/etc/os-release")
            .and_then(|text| pretty_name(&text))
            .unwrap_or_else(|| std::env::consts::OS.to_string()),
        memory_bytes: read("/proc/meminfo").and_then(|text| mem_total(&text)),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// `PRETTY_NAME` of an os-release file.
pub fn pretty_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim_matches('"').to_string())
    })
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn mem_total(meminfo: &str) -> Option<i64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Kubernetes' name for the CPU architecture (`amd64`, `arm64`), as `GOARCH` spells it.
pub fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// A UUID-shaped string derived from `seed` (stable for the same seed).
pub fn uuid_like(seed: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in seed.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3 | 1);
    }
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_files() {
        assert_eq!(
            pretty_name("NAME=Debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            mem_total("MemTotal:       16318412 kB\nMemFree: 1 kB"),
            Some(16318412 * 1024)
        );
        assert_eq!(mem_total("nothing"), None);
        let id = uuid_like("n1");
        assert_eq!(id.len(), 36);
        assert_eq!(id, uuid_like("n1"));
        assert_ne!(id, uuid_like("n2"));
        let facts = host_facts();
        assert!(facts.cpus >= 1);
        assert!(!facts.boot_id.is_empty());
    }
}

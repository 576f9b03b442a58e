//! The two ranges Services draw from, and how a free value is picked in one.
//!
//! - **ClusterIPs** come from `--service-cluster-ip-range` (a CIDR). The network address and,
//!   for IPv4, the broadcast address are never handed out; the first usable address is the
//!   `kubernetes` Service's, by convention (its DNS name resolves there in every cluster).
//! - **NodePorts** come from `--service-node-port-range` (`30000-32767`).
//!
//! Kubernetes splits each range in two bands: values picked automatically come from the
//! *upper* band first, so a user who writes `clusterIP: 10.96.0.10` (as kubeadm does for DNS) or
//! a fixed `nodePort` into a manifest rarely finds it taken by a random allocation. Only when
//! the upper band is full does the lower band serve automatic picks too. The same rule is here,
//! with the same band sizes (`ServiceIPStaticSubrange`, `ServiceNodePortStaticSubrange`).

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Why a range flag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// `--service-cluster-ip-range` is not an IPv4 CIDR.
    #[error("invalid service cluster IP range {0:?}: expected an IPv4 CIDR such as 10.96.0.0/16")]
    BadCidr(String),
    /// The CIDR is too large for a bitmap of one bit per address, or too small to be useful.
    #[error("service cluster IP range {cidr} has prefix /{prefix}: it must be between /12 and /30 (as kube-apiserver requires)")]
    CidrSize { cidr: String, prefix: u8 },
    /// `--service-node-port-range` is not `LOW-HIGH`.
    #[error(
        "invalid service node port range {0:?}: expected LOW-HIGH such as 30000-32767, with 1 <= LOW <= HIGH <= 65535"
    )]
    BadPorts(String),
}

/// An IPv4 CIDR (`10.96.0.0/16`), kept in canonical form (host bits zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// How many addresses the CIDR spans, network and broadcast included.
    pub fn size(&self) -> u32 {
        1u32 << (32 - u32::from(self.prefix))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let offset = u32::from(ip).wrapping_sub(u32::from(self.network));
        u32::from(ip) >= u32::from(self.network) && offset < self.size()
    }
}

impl FromStr for Ipv4Cidr {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Self, RangeError> {
        let bad = || RangeError::BadCidr(text.to_string());
        let (addr, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        if !(12..=30).contains(&prefix) {
            return Err(RangeError::CidrSize {
                cidr: text.to_string(),
                prefix,
            });
        }
        let mask = u32::MAX << (32 - u32::from(prefix));
        Ok(Ipv4Cidr {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An inclusive port range (`30000-32767`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl PortRange {
    pub fn contains(&self, port: i64) -> bool {
        port >= i64::from(self.low) && port <= i64::from(self.high)
    }
}

impl Default for PortRange {
    /// Kubernetes' default NodePort range.
    fn default() -> Self {
        PortRange {
            low: 30000,
            high: 32767,
        }
    }
}

impl FromStr for PortRange {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Self, RangeError> {
        let bad = || RangeError::BadPorts(text.to_string());
        let (low, high) = text.trim().split_once('-').ok_or_else(bad)?;
        let low: u16 = low.trim().parse().map_err(|_| bad())?;
        let high: u16 = high.trim().parse().map_err(|_| bad())?;
        if low == 0 || low > high {
            return Err(bad());
        }
        Ok(PortRange { low, high })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.low, self.high)
    }
}

/// Values `base .. base + size`, of which the lowest `static_band` are kept for explicit
/// requests as long as the rest has room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub base: u32,
    pub size: u32,
    pub static_band: u32,
}

impl Band {
    /// The usable addresses of a CIDR: all but the network and broadcast addresses.
    pub fn of_cidr(cidr: &Ipv4Cidr) -> Band {
        let size = cidr.size().saturating_sub(2);
        // Kubernetes: no static band up to 16 addresses, then size/16 clamped to 16..=256.
        let static_band = if cidr.size() <= 16 {
            0
        } else {
            (cidr.size() / 16).clamp(16, 256)
        };
        Band {
            base: u32::from(cidr.network) + 1,
            size,
            static_band,
        }
    }

    /// The ports of a range; the static band is size/32 clamped to 16..=128, as Kubernetes'.
    pub fn of_ports(range: &PortRange) -> Band {
        let size = u32::from(range.high) - u32::from(range.low) + 1;
        let static_band = if size <= 16 { 0 } else { (size / 32).clamp(16, 128) };
        Band {
            base: u32::from(range.low),
            size,
            static_band,
        }
    }

    /// A free value, or `None` if every value is taken. `seed` picks where the search starts
    /// (random in the server, fixed in tests): the upper band first, then the lower one.
    pub fn pick(&self, taken: &HashSet<u32>, seed: u64) -> Option<u32> {
        let upper = (self.static_band, self.size);
        let lower = (0, self.static_band);
        for (from, to) in [upper, lower] {
            let width = to.saturating_sub(from);
            if width == 0 {
                continue;
            }
            let start = (seed % u64::from(width)) as u32;
            for i in 0..width {
                let value = self.base + from + (start + i) % width;
                if !taken.contains(&value) {
                    return Some(value);
                }
            }
        }
        None
    }
}

/// A random seed for [`Band::pick`], from the operating system's randomness (through uuid,
/// which the API server already uses for `uid`s).
pub fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_canonically_and_refuse_what_kube_apiserver_refuses() {
        let cidr: Ipv4Cidr = "10.96.3.7/16".parse().unwrap();
        assert_eq!(cidr.to_string(), "10.96.0.0/16");
        assert_eq!(cidr.size(), 65536);
        assert!(cidr.contains(Ipv4Addr::new(10, 96, 255, 255)));
        assert!(!cidr.contains(Ipv4Addr::new(10, 97, 0, 0)));
        assert!(!cidr.contains(Ipv4Addr::new(10, 95, 255, 255)));
        for bad in ["10.96.0.0", "10.96.0.0/33", "ten/16", "::1/64", ""] {
            assert!(matches!(bad.parse::<Ipv4Cidr>(), Err(RangeError::BadCidr(_))), "{bad}");
        }
        assert!(matches!(
            "10.0.0.0/8".parse::<Ipv4Cidr>(),
            Err(RangeError::CidrSize { .. })
        ));
        assert!(matches!(
            "10.0.0.0/31".parse::<Ipv4Cidr>(),
            Err(RangeError::CidrSize { .. })
        ));
    }

    #[test]
    fn port_ranges() {
        assert_eq!("30000-32767".parse::<PortRange>().unwrap(), PortRange::default());
        assert_eq!("31000-31000".parse::<PortRange>().unwrap().to_string(), "31000-31000");
        for bad in ["30000", "2-1", "0-10", "a-b", "1-70000"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
        assert!(PortRange::default().contains(30000) && !PortRange::default().contains(32768));
    }

    #[test]
    fn bands_match_kubernetes_sizes() {
        let small = Band::of_cidr(&"10.0.0.0/29".parse().unwrap());
        assert_eq!((small.size, small.static_band), (6, 0));
        assert_eq!(small.base, u32::from(Ipv4Addr::new(10, 0, 0, 1)));
        let default = Band::of_cidr(&"10.96.0.0/16".parse().unwrap());
        assert_eq!((default.size, default.static_band), (65534, 256));
        let mid = Band::of_cidr(&"10.96.0.0/24".parse().unwrap());
        assert_eq!(mid.static_band, 16);
        let ports = Band::of_ports(&PortRange::default());
        assert_eq!((ports.base, ports.size, ports.static_band), (30000, 2768, 86));
    }

    #[test]
    fn picks_prefer_the_upper_band_then_fill_everything_then_stop() {
        let band = Band::of_cidr(&"10.0.0.0/24".parse().unwrap());
        let mut taken = HashSet::new();
        for seed in 0..254u64 {
            let value = band.pick(&taken, seed * 7919).expect("room left");
            let offset = value - band.base;
            if taken.len() < (band.size - band.static_band) as usize {
                assert!(offset >= band.static_band, "automatic picks use the upper band first");
            }
            assert!(taken.insert(value), "never the same value twice");
        }
        assert_eq!(taken.len(), 254);
        assert_eq!(band.pick(&taken, 3), None);
        // Every usable address was handed out: neither the network nor the broadcast address.
        assert!(!taken.contains(&u32::from(Ipv4Addr::new(10, 0, 0, 0))));
        assert!(!taken.contains(&u32::from(Ipv4Addr::new(10, 0, 0, 255))));
    }
}

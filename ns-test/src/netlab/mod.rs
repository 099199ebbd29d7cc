//! A network lab inside a sandbox: several hosts, each a network namespace
//! of its own, joined through a relay that delays, drops, duplicates,
//! reorders and rate-limits frames reproducibly, from a seed. Real kernel
//! sockets and TCP stacks, no root, no `ip`/`tc` binaries, no `sch_netem`.
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//! use std::time::{Duration, Instant};
//! use ns_test::netlab::{Lab, LinkConfig};
//! use ns_test::ns_test;
//!
//! #[ns_test(net, mnt)]
//! fn slow_link() -> Result<(), Box<dyn std::error::Error>> {
//!     let lab = Lab::builder()
//!         .hosts(2)
//!         .link(LinkConfig::new().delay(Duration::from_millis(50)))
//!         .build()?;
//!     let listener = lab.host("h2")?.run(|| TcpListener::bind("0.0.0.0:7000"))??;
//!     let start = Instant::now();
//!     // `h2` resolves on every host: the lab mounts a hosts file over /etc/hosts.
//!     let mut client = lab.host("h1")?.run(|| TcpStream::connect("h2:7000"))??;
//!     let (mut server, _) = listener.accept()?;
//!     client.write_all(b"ping")?;
//!     server.read_exact(&mut [0; 4])?;
//!     assert!(start.elapsed() >= Duration::from_millis(150)); // SYN, SYN-ACK, data
//!     Ok(())
//! }
//! ```
//!
//! # Topology
//!
//! Host `i` (from 1) is a network namespace with `lo` and `eth0`, MAC
//! `02:6e:73:00:00:i`, address `198.18.0.i/15`: the RFC 2544 benchmarking
//! range, which exists only inside the sandbox (the sandbox's own network
//! has no route anywhere). Every host has a permanent neighbour entry for
//! every other, so no ARP traffic is needed, and IPv6 address
//! autoconfiguration is off, so the hosts send nothing the test did not
//! ask for: the relay sees exactly the test's traffic, which is what makes
//! a seed replay the same faults.
//!
//! Each `eth0` is one end of a veth pair whose other end, port `p<i>`, sits
//! in a hidden switch namespace. With [`Fabric::Relay`] (the default) a
//! thread of the test process reads the frames arriving on the ports from
//! one `AF_PACKET` ring and forwards each to the port of its destination MAC
//! (broadcasts to all), through the fault engine. [`Fabric::Bridge`] joins
//! the ports with a kernel bridge instead (kernel speed, no faults);
//! [`Fabric::Direct`] joins two hosts with one veth pair.
//!
//! # Faults
//!
//! Every ordered pair of hosts is a *path* with its own [`LinkConfig`]:
//! [`set_link`](Lab::set_link) sets both directions, [`set_path`](Lab::set_path)
//! one, [`set_all`](Lab::set_all) every path. Changes apply to the next
//! frame. For each frame entering a path the relay, in this order, drops it
//! if the path is [partitioned](Lab::partition); drops it with probability
//! `loss`; queues it behind the frames still being sent at `rate_bps`
//! (dropping it when `queue` frames wait); delays it by `delay ± jitter`,
//! keeping the order of the path's frames, unless with probability
//! `reorder` it skips the delay and overtakes them; and with probability
//! `duplicate` sends a second copy after it. Delays are one-way: a round
//! trip over a link with `delay = 50ms` takes at least 100 ms.
//!
//! # Seeds
//!
//! Each path draws from its own generator, seeded from the lab's seed and
//! the pair of hosts, a fixed count of numbers per frame. So the n-th frame
//! of a path meets the same fate in every run with the same seed: the same
//! traffic gives the same drop pattern. The seed is [`LabBuilder::seed`]
//! (or the attribute's `net(.., seed = N)`) if the test sets one, else the
//! environment variable `NS_TEST_NET_SEED` (decimal, or hex with `0x`), else
//! random;
//! the lab prints it when it starts, so a failing test's output shows the
//! value to replay it with.
//!
//! # Names
//!
//! In a sandbox with its own mount namespace (`#[ns_test(mnt)]`, or `pid`)
//! the lab mounts a hosts file over `/etc/hosts` listing every host, so
//! `TcpStream::connect("h2:7000")` works on every host (and in the test
//! itself). Without one, the mount is refused; use
//! [`Lab::resolve`] or [`Host::addr`] ([`Lab::etc_hosts_installed`] says
//! which case holds).
//!
//! # Processes
//!
//! [`Host::run`] runs a closure on a host and returns its result;
//! [`Host::spawn`] starts one on a thread; [`Host::command`] makes a
//! [`Command`](std::process::Command) run on the host. Threads end with the
//! test process; child processes get `SIGKILL` when the thread that
//! spawned them exits, and the sandbox's reaper ends whatever is left when
//! the test ends (with or without `pid`).
//!
//! # Cost
//!
//! Setting up a lab takes some 2–30 ms. On a 2-vCPU VM the relay adds
//! about 10 µs to a round trip over a kernel bridge (25 µs against 15 µs)
//! and forwards 1–1.9 Gbit/s of bulk TCP (offloads are off on `eth0` so the
//! relay sees plain frames), against 10–16 Gbit/s for the kernel paths; use
//! [`Fabric::Bridge`] when no faults are needed. Measured by
//! `cargo test --release --test netlab relay_cost -- --ignored --nocapture`;
//! details in `ns-test/src/netlab/README.md`.

mod config;
mod error;
mod fault;
mod host;
mod hosts_file;
mod netlink;
mod netns;
mod relay;
mod sys;

use std::fmt;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use config::LinkConfig;
pub use error::{Error, Step};
pub use host::Host;

use netlink::Refused;
use netns::Netns;
use relay::{Control, Ports, Shared, WaitError};

/// The environment variable that sets the seed of labs whose test does
/// not fix one.
pub const SEED_ENV: &str = "NS_TEST_NET_SEED";

/// The network hosts are numbered in: `198.18.0.0/15`, the RFC 2544
/// benchmarking range.
pub const NETWORK: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 0);

/// The prefix length of [`NETWORK`].
pub const PREFIX_LEN: u8 = 15;

/// The largest number of hosts in a lab.
pub const MAX_HOSTS: usize = 250;

/// The MTU of every lab link.
pub const MTU: u32 = 1500;

/// How the hosts are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Fabric {
    /// Through the relay: every [`LinkConfig`] fault is available.
    #[default]
    Relay,
    /// Through a kernel bridge in the switch namespace: kernel speed, no
    /// faults.
    Bridge,
    /// Two hosts, one veth pair between them: kernel speed, no faults.
    Direct,
}

/// Counters of one path (one direction between two hosts), since the lab
/// started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PathStats {
    /// Frames that entered the path.
    pub frames: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Frames (and duplicates) sent on, or held to be sent when due.
    pub delivered: u64,
    /// Frames dropped by random loss.
    pub lost: u64,
    /// Frames dropped by a partition.
    pub partitioned: u64,
    /// Frames dropped because the rate limiter's queue was full.
    pub queue_full: u64,
    /// Frames dropped because the relay held too many frames already.
    pub overflow: u64,
    /// Frames sent twice.
    pub duplicated: u64,
    /// Frames that skipped the delay.
    pub reordered: u64,
}

/// Builds a [`Lab`]: hosts, default link, seed, fabric.
#[derive(Debug, Clone)]
#[must_use]
pub struct LabBuilder {
    names: Vec<String>,
    link: LinkConfig,
    seed: Option<u64>,
    fabric: Fabric,
    etc_hosts: bool,
}

impl LabBuilder {
    /// Adds a host called `name` (letters, digits and `-`, starting with a
    /// letter, at most 63 characters).
    pub fn host(mut self, name: impl Into<String>) -> LabBuilder {
        self.names.push(name.into());
        self
    }

    /// Adds `n` hosts named `h<k>`, `k` counting on from the hosts added so
    /// far (`hosts(3)` on an empty builder: `h1`, `h2`, `h3`).
    pub fn hosts(mut self, n: usize) -> LabBuilder {
        let first = self.names.len() + 1;
        self.names
            .extend((first..first + n.min(MAX_HOSTS + 1)).map(|k| format!("h{k}")));
        self
    }

    /// The initial configuration of every path.
    pub fn link(mut self, config: LinkConfig) -> LabBuilder {
        self.link = config;
        self
    }

    /// Fixes the seed (the environment variable then does not apply).
    pub fn seed(mut self, seed: u64) -> LabBuilder {
        self.seed = Some(seed);
        self
    }

    /// How the hosts are joined (default [`Fabric::Relay`]).
    pub fn fabric(mut self, fabric: Fabric) -> LabBuilder {
        self.fabric = fabric;
        self
    }

    /// Whether to mount the hosts file over `/etc/hosts` when the sandbox
    /// allows it (default `true`).
    pub fn etc_hosts(mut self, mount: bool) -> LabBuilder {
        self.etc_hosts = mount;
        self
    }

    /// Creates the hosts, links and relay.
    pub fn build(self) -> Result<Lab, Error> {
        Lab::build(self)
    }
}

/// The handle on the relay thread.
struct Relay {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    sock: Arc<OwnedFd>,
    ring_drops: AtomicU64,
}

/// A set of hosts joined by links with faults; see the [module docs](self).
/// Dropping it stops the relay and removes the hosts file; the namespaces
/// go when the last socket or process in them does.
pub struct Lab {
    hosts: Vec<Host>,
    seed: u64,
    fabric: Fabric,
    hosts_file: String,
    relay: Option<Relay>,
    overlay: Option<hosts_file::Overlay>,
    _switch: Option<OwnedFd>,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field(
                "hosts",
                &self.hosts.iter().map(Host::name).collect::<Vec<_>>(),
            )
            .field("seed", &self.seed)
            .field("fabric", &self.fabric)
            .field("etc_hosts", &self.overlay.is_some())
            .finish()
    }
}

fn host_mac(i: usize) -> [u8; 6] {
    let k = i + 1;
    [0x02, 0x6e, 0x73, 0x00, (k >> 8) as u8, k as u8]
}

/// The host index a host MAC address encodes, if it is one.
pub(crate) fn host_of_mac(mac: &[u8]) -> Option<usize> {
    match mac {
        [0x02, 0x6e, 0x73, 0x00, hi, lo] => {
            (usize::from(*hi) << 8 | usize::from(*lo)).checked_sub(1)
        }
        _ => None,
    }
}

fn port_mac(i: usize) -> [u8; 6] {
    let k = i + 1;
    [0x02, 0x6e, 0x73, 0xff, (k >> 8) as u8, k as u8]
}

fn host_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(NETWORK) + i as u32 + 1)
}

fn port_name(i: usize) -> String {
    format!("p{}", i + 1)
}

/// Whether this process has a user namespace of its own (its uid map is
/// not the initial namespace's identity map).
fn in_own_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => {
            let f: Vec<&str> = map.split_whitespace().collect();
            f != ["0", "0", "4294967295"]
        }
        Err(_) => false,
    }
}

fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::BadHostName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 63 {
        return bad("must be 1 to 63 characters long");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("must start with a letter");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return bad("may hold only letters, digits and '-'");
    }
    if name.eq_ignore_ascii_case("localhost") {
        return bad("'localhost' is the loopback's name");
    }
    Ok(())
}

/// The seed: the builder's, else `NS_TEST_NET_SEED`, else random; and
/// where it came from.
fn choose_seed(fixed: Option<u64>) -> Result<(u64, &'static str), Error> {
    if let Some(s) = fixed {
        return Ok((s, "fixed by the test"));
    }
    if let Ok(v) = std::env::var(SEED_ENV) {
        let t = v.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => t.parse(),
        };
        return match parsed {
            Ok(s) => Ok((s, "from NS_TEST_NET_SEED")),
            Err(_) => Err(Error::Config {
                field: "NS_TEST_NET_SEED",
                value: v,
                expected: "a u64, decimal or 0x-prefixed hex",
            }),
        };
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    Ok((h.finish(), "random"))
}

/// The switch's ring: 4 MiB, and 512 KiB more per host beyond 8, up to
/// 32 MiB.
fn ring_blocks(hosts: usize) -> u32 {
    (64 + 8 * hosts.saturating_sub(8)).min(512) as u32
}

const RING_BLOCK: u32 = 64 * 1024;
const RING_FRAME: u32 = 2048;

impl Lab {
    /// A lab of `hosts` hosts named `h1`, `h2`, ..., ideal links, through
    /// the relay.
    pub fn new(hosts: usize) -> Result<Lab, Error> {
        Lab::builder().hosts(hosts).build()
    }

    /// A builder with no hosts yet.
    pub fn builder() -> LabBuilder {
        LabBuilder {
            names: Vec::new(),
            link: LinkConfig::new(),
            seed: None,
            fabric: Fabric::Relay,
            etc_hosts: true,
        }
    }

    /// The lab of a test marked `#[ns_test(net(hosts = N, ...))]`: `hosts`
    /// hosts `h1`..`hN` with `link` on every path, kept for the rest of the
    /// test process and reachable through [`lab()`]. Called by the
    /// attribute's expansion.
    pub fn from_attribute(hosts: usize, link: LinkConfig) -> Result<&'static Lab, Error> {
        Lab::from_attribute_seeded(hosts, link, None)
    }

    /// [`from_attribute`](Lab::from_attribute) with the attribute's
    /// `seed = N`: a seed given here is fixed, as by [`LabBuilder::seed`],
    /// so it wins over `NS_TEST_NET_SEED`; `None` leaves the choice to the
    /// environment variable, else random.
    pub fn from_attribute_seeded(
        hosts: usize,
        link: LinkConfig,
        seed: Option<u64>,
    ) -> Result<&'static Lab, Error> {
        static BUILDING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lab) = ATTRIBUTE_LAB.get() {
            return Ok(lab);
        }
        let mut builder = Lab::builder().hosts(hosts).link(link);
        if let Some(seed) = seed {
            builder = builder.seed(seed);
        }
        let lab = builder.build()?;
        Ok(ATTRIBUTE_LAB.get_or_init(|| lab))
    }

    fn build(b: LabBuilder) -> Result<Lab, Error> {
        // 1. Only inside a sandbox: a lab mounts over /etc/hosts.
        if !in_own_user_namespace() {
            return Err(Error::NotInSandbox);
        }
        // 2. Validate everything before creating anything.
        let n = b.names.len();
        if n == 0 || n > MAX_HOSTS {
            return Err(Error::HostCount {
                requested: n,
                max: MAX_HOSTS,
            });
        }
        for (i, name) in b.names.iter().enumerate() {
            validate_name(name)?;
            if b.names[..i].iter().any(|o| o.eq_ignore_ascii_case(name)) {
                return Err(Error::BadHostName {
                    name: name.clone(),
                    reason: "is used twice",
                });
            }
        }
        b.link.validate()?;
        if b.fabric != Fabric::Relay && !b.link.is_ideal() {
            return Err(Error::NoRelay { fabric: b.fabric });
        }
        if b.fabric == Fabric::Direct && n != 2 {
            return Err(Error::Config {
                field: "fabric",
                value: format!("Direct with {n} hosts"),
                expected: "exactly 2 hosts for Fabric::Direct",
            });
        }
        let (seed, origin) = choose_seed(b.seed)?;

        // 3. A network namespace per host, and one for the switch.
        let mut nss: Vec<Netns> = b
            .names
            .iter()
            .map(|name| netns::create(name))
            .collect::<Result<_, _>>()?;
        let mut switch = match b.fabric {
            Fabric::Direct => None,
            Fabric::Relay | Fabric::Bridge => Some(netns::create("switch")?),
        };

        // 4. The cables: a veth pair per host, eth0 on the host, p<i> on
        //    the switch (or one pair between the two hosts).
        let link_err = |host: &str, r: Refused| {
            Error::netlink(Step::CreateLink, Some(host), "RTM_NEWLINK veth", r)
        };
        match &mut switch {
            Some(sw) => {
                for (i, name) in b.names.iter().enumerate() {
                    sw.netlink
                        .create_veth(
                            &port_name(i),
                            port_mac(i),
                            "eth0",
                            host_mac(i),
                            Some(nss[i].fd.as_fd()),
                            MTU,
                        )
                        .map_err(|r| link_err(name, r))?;
                }
            }
            None => {
                let (first, rest) = nss.split_at_mut(1);
                first[0]
                    .netlink
                    .create_veth(
                        "eth0",
                        host_mac(0),
                        "eth0",
                        host_mac(1),
                        Some(rest[0].fd.as_fd()),
                        MTU,
                    )
                    .map_err(|r| link_err(&b.names[0], r))?;
            }
        }

        // 5. The switch: ports up (first, so that each eth0 finds its peer
        //    up and its queue starts at once), a bridge or the relay's ring.
        let mut ports = None;
        if let Some(sw) = &mut switch {
            let s = Some("switch");
            let nl = &mut sw.netlink;
            let mut indexes = Vec::with_capacity(n);
            for i in 0..n {
                let idx = nl.index(&port_name(i)).map_err(|r| {
                    Error::sys(Step::ConfigureLink, s, "ioctl(SIOCGIFINDEX, port)", r.errno)
                })?;
                nl.no_ipv6_autoconf(idx).map_err(|r| {
                    Error::netlink(Step::ConfigureLink, s, "RTM_NEWLINK addr_gen_mode", r)
                })?;
                indexes.push(idx);
            }
            if b.fabric == Fabric::Bridge {
                nl.create_bridge("br0")
                    .map_err(|r| Error::netlink(Step::CreateLink, s, "RTM_NEWLINK bridge", r))?;
                let br = nl.index("br0").map_err(|r| {
                    Error::sys(Step::ConfigureLink, s, "ioctl(SIOCGIFINDEX, br0)", r.errno)
                })?;
                nl.no_ipv6_autoconf(br).map_err(|r| {
                    Error::netlink(Step::ConfigureLink, s, "RTM_NEWLINK addr_gen_mode", r)
                })?;
                for idx in &indexes {
                    nl.set_master(*idx, br).map_err(|r| {
                        Error::netlink(Step::ConfigureLink, s, "RTM_NEWLINK master", r)
                    })?;
                }
                nl.set_up(br)
                    .map_err(|r| Error::netlink(Step::LinkUp, s, "RTM_NEWLINK up", r))?;
            }
            for idx in &indexes {
                nl.set_up(*idx)
                    .map_err(|r| Error::netlink(Step::LinkUp, s, "RTM_NEWLINK up", r))?;
            }
            if b.fabric == Fabric::Relay {
                ports = Some(open_ports(sw.fd.as_fd(), indexes, ring_blocks(n))?);
            }
        }

        // 6. Each host: eth0 without IPv6 autoconf (and, behind the relay,
        //    without offloads), its address, up, lo up, and a permanent
        //    neighbour entry for every other host.
        for (i, (ns, name)) in nss.iter_mut().zip(&b.names).enumerate() {
            let h = Some(name.as_str());
            let nl = &mut ns.netlink;
            let eth0 = nl.index("eth0").map_err(|r| {
                Error::sys(Step::ConfigureLink, h, "ioctl(SIOCGIFINDEX, eth0)", r.errno)
            })?;
            nl.no_ipv6_autoconf(eth0).map_err(|r| {
                Error::netlink(Step::ConfigureLink, h, "RTM_NEWLINK addr_gen_mode", r)
            })?;
            if b.fabric == Fabric::Relay {
                nl.no_offloads("eth0").map_err(|r| {
                    Error::sys(Step::ConfigureLink, h, "ioctl(SIOCETHTOOL)", r.errno)
                })?;
            }
            nl.add_ipv4(eth0, host_ip(i), PREFIX_LEN)
                .map_err(|r| Error::netlink(Step::AddAddress, h, "RTM_NEWADDR", r))?;
            for idx in [1, eth0] {
                nl.set_up(idx)
                    .map_err(|r| Error::netlink(Step::LinkUp, h, "RTM_NEWLINK up", r))?;
            }
            for j in (0..n).filter(|j| *j != i) {
                nl.add_neighbour(eth0, host_ip(j), host_mac(j))
                    .map_err(|r| Error::netlink(Step::AddNeighbour, h, "RTM_NEWNEIGH", r))?;
            }
        }

        let hosts: Vec<Host> = nss
            .into_iter()
            .zip(&b.names)
            .enumerate()
            .map(|(i, (ns, name))| Host {
                name: name.clone(),
                index: i,
                ip: host_ip(i),
                mac: host_mac(i),
                netns: Arc::new(ns.fd),
            })
            .collect();

        // 7. Names: a hosts file over /etc/hosts, where the sandbox allows.
        let entries: Vec<(String, Ipv4Addr)> =
            hosts.iter().map(|h| (h.name.clone(), h.ip)).collect();
        let previous = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let hosts_file = hosts_file::render(&previous, &entries);
        let overlay = if b.etc_hosts {
            hosts_file::install(&hosts_file)?
        } else {
            None
        };

        // 8. The relay.
        let relay = match ports {
            Some(ports) => Some(start_relay(&hosts, &b.link, ports, seed)?),
            None => None,
        };
        let lab = Lab {
            hosts,
            seed,
            fabric: b.fabric,
            hosts_file,
            relay,
            overlay,
            _switch: switch.map(|s| s.fd),
        };

        // 9. Ready: some link queues (a bridge port's) start when the
        //    kernel's link watcher has seen the carrier, asynchronously;
        //    wait until a probe from every host has crossed the fabric.
        //    (On error, dropping the lab stops the relay.)
        wait_until_ready(&lab.hosts, seed)?;

        eprintln!(
            "netlab: {n} hosts ({}), seed {seed} ({origin}; {SEED_ENV}={seed} replays it){}",
            match b.fabric {
                Fabric::Relay => "relay",
                Fabric::Bridge => "bridge",
                Fabric::Direct => "direct",
            },
            if lab.overlay.is_some() || !b.etc_hosts {
                ""
            } else {
                "; /etc/hosts not overlaid (no mount namespace of the sandbox's own): use Lab::resolve"
            }
        );
        Ok(lab)
    }

    /// The hosts, in the order they were added.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<&Host, Error> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| Error::UnknownHost {
                name: name.to_string(),
                known: self.hosts.iter().map(|h| h.name.clone()).collect(),
            })
    }

    fn index(&self, name: &str) -> Result<usize, Error> {
        self.host(name).map(|h| h.index)
    }

    /// The address of host `name`: what `/etc/hosts` says, for sandboxes
    /// where it is not overlaid.
    pub fn resolve(&self, name: &str) -> Option<Ipv4Addr> {
        self.hosts.iter().find(|h| h.name == name).map(|h| h.ip)
    }

    /// The seed the relay draws faults from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How the hosts are joined.
    pub fn fabric(&self) -> Fabric {
        self.fabric
    }

    /// The generated hosts file (the previous `/etc/hosts`, then a line per
    /// host).
    pub fn hosts_file(&self) -> &str {
        &self.hosts_file
    }

    /// Whether the hosts file is mounted over `/etc/hosts`, so host names
    /// resolve everywhere in the sandbox.
    pub fn etc_hosts_installed(&self) -> bool {
        self.overlay.is_some()
    }

    fn relay(&self) -> Result<&Relay, Error> {
        let r = self.relay.as_ref().ok_or(Error::NoRelay {
            fabric: self.fabric,
        })?;
        match r.shared.stopped() {
            Some(reason) => Err(Error::RelayStopped { reason }),
            None => Ok(r),
        }
    }

    /// Sets the configuration of the path from `from` to `to` only.
    pub fn set_path(&self, from: &str, to: &str, config: &LinkConfig) -> Result<(), Error> {
        config.validate()?;
        let n = self.hosts.len();
        let (f, t) = (self.index(from)?, self.index(to)?);
        self.relay()?
            .shared
            .update(|c| c.configs[f * n + t] = config.clone());
        Ok(())
    }

    /// Sets the configuration of both directions between `a` and `b`.
    pub fn set_link(&self, a: &str, b: &str, config: &LinkConfig) -> Result<(), Error> {
        config.validate()?;
        let n = self.hosts.len();
        let (x, y) = (self.index(a)?, self.index(b)?);
        self.relay()?.shared.update(|c| {
            c.configs[x * n + y] = config.clone();
            c.configs[y * n + x] = config.clone();
        });
        Ok(())
    }

    /// Sets the configuration of every path.
    pub fn set_all(&self, config: &LinkConfig) -> Result<(), Error> {
        config.validate()?;
        self.relay()?.shared.update(|c| {
            for p in &mut c.configs {
                *p = config.clone();
            }
        });
        Ok(())
    }

    /// The configuration of the path from `from` to `to`.
    pub fn path_config(&self, from: &str, to: &str) -> Result<LinkConfig, Error> {
        let n = self.hosts.len();
        let (f, t) = (self.index(from)?, self.index(to)?);
        Ok(self.relay()?.shared.control().configs[f * n + t].clone())
    }

    /// Cuts every path between a host of `side_a` and a host of `side_b`,
    /// both ways: their frames are dropped until [`heal`](Lab::heal).
    /// Other paths, and partitions made before, stay as they are.
    pub fn partition(&self, side_a: &[&str], side_b: &[&str]) -> Result<(), Error> {
        let n = self.hosts.len();
        let a: Vec<usize> = side_a
            .iter()
            .map(|h| self.index(h))
            .collect::<Result<_, _>>()?;
        let b: Vec<usize> = side_b
            .iter()
            .map(|h| self.index(h))
            .collect::<Result<_, _>>()?;
        self.relay()?.shared.update(|c| {
            for x in &a {
                for y in &b {
                    c.partitioned[x * n + y] = true;
                    c.partitioned[y * n + x] = true;
                }
            }
        });
        Ok(())
    }

    /// Ends every partition.
    pub fn heal(&self) -> Result<(), Error> {
        self.relay()?.shared.update(|c| {
            for p in &mut c.partitioned {
                *p = false;
            }
        });
        Ok(())
    }

    /// The counters of the path from `from` to `to`.
    pub fn stats(&self, from: &str, to: &str) -> Result<PathStats, Error> {
        let n = self.hosts.len();
        let (f, t) = (self.index(from)?, self.index(to)?);
        let c = &self.relay()?.shared.counters[f * n + t];
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Ok(PathStats {
            frames: g(&c.frames),
            bytes: g(&c.bytes),
            delivered: g(&c.delivered),
            lost: g(&c.lost),
            partitioned: g(&c.partitioned),
            queue_full: g(&c.queue_full),
            overflow: g(&c.overflow),
            duplicated: g(&c.duplicated),
            reordered: g(&c.reordered),
        })
    }

    /// Frames the kernel dropped before the relay could read them (its
    /// ring was full), since the lab started. Such drops are not part of
    /// the seeded fault sequence; a test that depends on exact replay can
    /// check this is 0.
    pub fn ring_drops(&self) -> Result<u64, Error> {
        let r = self.relay()?;
        let d = sys::packet_drops(r.sock.as_fd()).map_err(|e| {
            Error::io(
                Step::OpenPacketSocket,
                Some("switch"),
                "getsockopt(PACKET_STATISTICS)",
                &e,
            )
        })?;
        Ok(r.ring_drops.fetch_add(d, Ordering::Relaxed) + d)
    }

    /// Waits until at least `frames` frames have entered the path from
    /// `from` to `to` since the lab started and the relay has delivered or
    /// dropped every frame it took in, and returns the path's counters.
    /// Unlike [`wait_idle`](Lab::wait_idle) this does not depend on when the
    /// kernel hands a sent frame to the relay: a test that knows how many
    /// frames it sent waits for exactly those.
    pub fn wait_frames(
        &self,
        from: &str,
        to: &str,
        frames: u64,
        timeout: Duration,
    ) -> Result<PathStats, Error> {
        let n = self.hosts.len();
        let i = self.index(from)? * n + self.index(to)?;
        self.relay()?
            .shared
            .wait_until(timeout, |s| {
                s.counters[i].frames.load(Ordering::Relaxed) >= frames
            })
            .map_err(|e| match e {
                WaitError::Timeout => Error::Timeout {
                    what: "waiting for frames on a path",
                    after: timeout,
                },
                WaitError::Stopped(reason) => Error::RelayStopped { reason },
            })?;
        self.stats(from, to)
    }

    /// Waits until the relay holds no frame and has found none waiting
    /// since this call: every frame that reached the relay before the call
    /// has been delivered or dropped. (A frame a host sent just before may
    /// still be on its way through the kernel on a loaded machine; use
    /// [`wait_frames`](Lab::wait_frames) to wait for known frames.) Returns
    /// at once for a fabric without relay.
    pub fn wait_idle(&self, timeout: Duration) -> Result<(), Error> {
        let Some(r) = &self.relay else {
            return Ok(());
        };
        r.shared.wait_idle(timeout).map_err(|e| match e {
            WaitError::Timeout => Error::Timeout {
                what: "waiting for the relay to be idle",
                after: timeout,
            },
            WaitError::Stopped(reason) => Error::RelayStopped { reason },
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(r) = &self.relay {
            // Stop the relay and wait until it says so; it then closes its
            // socket on its own (each close costs an RCU grace period, and
            // the test need not wait for it).
            r.shared.stop();
            let _ = r.shared.wait_stopped(Duration::from_secs(5));
            drop(
                r.thread
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take(),
            );
        }
    }
}

/// Opens the relay's packet socket and ring on the switch's ports, from a
/// thread in the switch namespace (a packet socket belongs to the
/// namespace it is created in). The ring is set up before the socket is
/// bound, which spares an RCU grace period.
fn open_ports(switch: BorrowedFd<'_>, ifindexes: Vec<u32>, blocks: u32) -> Result<Ports, Error> {
    let sw = Some("switch");
    std::thread::scope(|s| {
        let t = std::thread::Builder::new()
            .name("netlab-switch".into())
            .spawn_scoped(s, || -> Result<Ports, Error> {
                netns::enter(switch, "switch")?;
                let sock = sys::packet_socket().map_err(|e| {
                    Error::io(
                        Step::OpenPacketSocket,
                        sw,
                        "socket(AF_PACKET, SOCK_RAW)",
                        &e,
                    )
                })?;
                let ring = sys::RxRing::new(sock.as_fd(), RING_BLOCK, blocks, RING_FRAME).map_err(
                    |e| Error::io(Step::OpenPacketSocket, sw, "PACKET_RX_RING + mmap", &e),
                )?;
                sys::packet_bind(sock.as_fd(), 0)
                    .map_err(|e| Error::io(Step::OpenPacketSocket, sw, "bind(AF_PACKET)", &e))?;
                Ok(Ports {
                    sock: Arc::new(sock),
                    ring,
                    ifindexes,
                })
            })
            .map_err(|e| Error::io(Step::OpenPacketSocket, sw, "pthread_create", &e))?;
        t.join().unwrap_or_else(|_| {
            Err(Error::sys(
                Step::OpenPacketSocket,
                sw,
                "thread",
                nix::libc::EIO,
            ))
        })
    })
}

/// The payload prefix of lab `nonce`'s readiness probes: UDP datagrams
/// the relay forwards without faults and without counting them.
fn probe_payload(nonce: u64) -> Vec<u8> {
    let mut p = b"ns-test netlab probe".to_vec();
    p.extend_from_slice(&nonce.to_be_bytes());
    p
}

/// Sends a UDP probe from every host to the next and waits for it to
/// arrive, resending every few milliseconds, for up to ten seconds per
/// host: some queues (a bridge port's) only start when the kernel's link
/// watcher, which runs asynchronously, has seen the carrier.
fn wait_until_ready(hosts: &[Host], nonce: u64) -> Result<(), Error> {
    let n = hosts.len();
    if n < 2 {
        return Ok(());
    }
    let patience = Duration::from_secs(10);
    let bind = |h: &Host| -> Result<UdpSocket, Error> {
        let ip = h.ip;
        let sock = h
            .run(move || UdpSocket::bind((ip, 0)))?
            .map_err(|e| Error::io(Step::LinkUp, Some(&h.name), "bind(UDP probe)", &e))?;
        sock.set_read_timeout(Some(Duration::from_millis(5)))
            .map_err(|e| Error::io(Step::LinkUp, Some(&h.name), "setsockopt(SO_RCVTIMEO)", &e))?;
        Ok(sock)
    };
    let socks: Vec<UdpSocket> = hosts.iter().map(bind).collect::<Result<_, _>>()?;
    for i in 0..n {
        let j = (i + 1) % n;
        let mut probe = probe_payload(nonce);
        probe.extend_from_slice(&(i as u32).to_be_bytes());
        let to = socks[j]
            .local_addr()
            .map_err(|e| Error::io(Step::LinkUp, Some(&hosts[j].name), "getsockname", &e))?;
        let start = Instant::now();
        'probe: loop {
            if start.elapsed() > patience {
                return Err(Error::Timeout {
                    what: "waiting for the links to come up",
                    after: patience,
                });
            }
            socks[i]
                .send_to(&probe, to)
                .map_err(|e| Error::io(Step::LinkUp, Some(&hosts[i].name), "send(probe)", &e))?;
            let mut buf = [0u8; 64];
            // Read until this resend's wait runs out; a probe of an earlier
            // resend is as good as this one.
            while let Ok(len) = socks[j].recv(&mut buf) {
                if buf[..len] == probe[..] {
                    break 'probe;
                }
            }
        }
    }
    Ok(())
}

fn start_relay(hosts: &[Host], link: &LinkConfig, ports: Ports, seed: u64) -> Result<Relay, Error> {
    let n = hosts.len();
    let (wake_r, wake_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
            .map_err(|e| Error::sys(Step::StartRelay, None, "pipe2", e as i32))?;
    let control = Control {
        configs: vec![link.clone(); n * n],
        partitioned: vec![false; n * n],
    };
    let shared = Arc::new(Shared::new(n, probe_payload(seed), control, wake_w));
    let sock = ports.sock.clone();
    let epoch = Instant::now();
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("netlab-relay".into())
        .spawn(move || relay::run(s, ports, wake_r, seed, epoch))
        .map_err(|e| Error::io(Step::StartRelay, None, "pthread_create", &e))?;
    Ok(Relay {
        shared,
        thread: Mutex::new(Some(thread)),
        sock,
        ring_drops: AtomicU64::new(0),
    })
}

static ATTRIBUTE_LAB: OnceLock<Lab> = OnceLock::new();

/// The lab the attribute (`#[ns_test(net(hosts = 3))]`) built for this
/// test.
///
/// # Panics
///
/// When the test has no such attribute (build a [`Lab`] yourself then).
pub fn lab() -> &'static Lab {
    match try_lab() {
        Some(l) => l,
        None => panic!(
            "netlab: this test has no lab from its attribute; \
             use #[ns_test(net(hosts = N))] or build one with Lab::builder()"
        ),
    }
}

/// The lab the attribute built for this test, if any.
pub fn try_lab() -> Option<&'static Lab> {
    ATTRIBUTE_LAB.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_macs_follow_the_host_number() {
        assert_eq!(host_ip(0), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(host_ip(249), Ipv4Addr::new(198, 18, 0, 250));
        assert_eq!(host_mac(0), [2, 0x6e, 0x73, 0, 0, 1]);
        assert_ne!(port_mac(0), host_mac(0));
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("h1").is_ok());
        assert!(validate_name("db-primary").is_ok());
        assert!(validate_name("1h").is_err());
        assert!(validate_name("a_b").is_err());
        assert!(validate_name("localhost").is_err());
        assert!(validate_name("").is_err());
    }

    #[test]
    fn hosts_counts_on() {
        let b = Lab::builder().host("client").hosts(2);
        assert_eq!(b.names, ["client", "h2", "h3"]);
    }

    #[test]
    fn a_fixed_seed_wins() {
        assert_eq!(choose_seed(Some(5)).unwrap().0, 5);
    }
}

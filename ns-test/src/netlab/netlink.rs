//! A minimal rtnetlink client: the handful of requests the lab needs
//! (create a veth pair or a bridge, configure a link, add an address and a
//! permanent neighbour), each sent on a `NETLINK_ROUTE` socket and answered
//! by an ack. No `ip` binary, no netlink crate.
//!
//! Wire format: rtnetlink(7), netlink(7); `linux/rtnetlink.h`,
//! `linux/if_link.h`, `linux/neighbour.h`, `linux/veth.h`.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};

use super::sys;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
/// In an error answer: TLVs (the extended ack) follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;

const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWNEIGH: u16 = 28;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;
const AF_INET: u8 = 2;
const AF_INET6: u16 = 10;
const IFF_UP: u32 = 0x1;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NUD_PERMANENT: u16 = 0x80;

/// `ETHTOOL_STXCSUM`, `ETHTOOL_SSG`, `ETHTOOL_STSO`, `ETHTOOL_SGSO`,
/// `ETHTOOL_SGRO` from `linux/ethtool.h`.
const ETHTOOL_STXCSUM: u32 = 0x17;
const ETHTOOL_SSG: u32 = 0x19;
const ETHTOOL_STSO: u32 = 0x1f;
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_SGRO: u32 = 0x2c;

/// The kernel refused a request: its errno and, on kernels with extended
/// acks, its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub errno: i32,
    pub message: Option<String>,
}

impl From<io::Error> for Refused {
    fn from(e: io::Error) -> Refused {
        Refused {
            errno: e.raw_os_error().unwrap_or(nix::libc::EIO),
            message: None,
        }
    }
}

impl From<nix::Error> for Refused {
    fn from(e: nix::Error) -> Refused {
        Refused {
            errno: e as i32,
            message: None,
        }
    }
}

/// A netlink message under construction: header, fixed part, attributes.
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    fn new(ty: u16, flags: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set in finish
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while self.buf.len() & 3 != 0 {
            self.buf.push(0);
        }
    }

    fn raw(&mut self, bytes: &[u8]) -> &mut Msg {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    /// `struct ifinfomsg`.
    fn ifinfo(&mut self, index: u32, flags: u32, change: u32) -> &mut Msg {
        let mut b = [0u8; 16];
        // family (0 = AF_UNSPEC), pad, type (0)
        b[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
        b[8..12].copy_from_slice(&flags.to_ne_bytes());
        b[12..16].copy_from_slice(&change.to_ne_bytes());
        self.raw(&b)
    }

    fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Msg {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn attr_str(&mut self, ty: u16, s: &str) -> &mut Msg {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    fn begin(&mut self, ty: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    fn end(&mut self) -> &mut Msg {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

/// A `NETLINK_ROUTE` socket in the network namespace of the thread that
/// opened it; it keeps talking to that namespace from any thread.
pub(crate) struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Netlink> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        // The kernel answers at once; a bound wait keeps a bug from hanging
        // a test.
        setsockopt(
            &fd,
            sockopt::ReceiveTimeout,
            &nix::sys::time::TimeVal::new(10, 0),
        )?;
        sys::netlink_ext_ack(fd.as_fd());
        Ok(Netlink { fd, seq: 0 })
    }

    /// The network namespace this socket talks to, as a descriptor.
    pub(crate) fn netns(&self) -> io::Result<OwnedFd> {
        sys::socket_netns(self.fd.as_fd())
    }

    /// The index of interface `name`.
    pub(crate) fn index(&self, name: &str) -> Result<u32, Refused> {
        Ok(sys::if_index(self.fd.as_fd(), name)?)
    }

    fn request(&mut self, msg: &mut Msg) -> Result<(), Refused> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        send(self.fd.as_raw_fd(), msg.finish(seq), MsgFlags::empty())?;
        let mut buf = vec![0u8; 16384];
        // Bounded: one ack per request; anything else is skipped.
        for _ in 0..64 {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            if let Some(answer) = parse_ack(&buf[..n], seq) {
                return answer;
            }
        }
        Err(Refused {
            errno: nix::libc::EPROTO,
            message: Some("no acknowledgement from the kernel".into()),
        })
    }

    /// Creates a veth pair: `name` (MAC `mac`) here, `peer` (MAC
    /// `peer_mac`) in the namespace `peer_ns` (here if `None`).
    pub(crate) fn create_veth(
        &mut self,
        name: &str,
        mac: [u8; 6],
        peer: &str,
        peer_mac: [u8; 6],
        peer_ns: Option<BorrowedFd<'_>>,
        mtu: u32,
    ) -> Result<(), Refused> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0)
            .attr_str(IFLA_IFNAME, name)
            .attr(IFLA_ADDRESS, &mac)
            .attr(IFLA_MTU, &mtu.to_ne_bytes())
            .begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .begin(IFLA_INFO_DATA)
            .begin(VETH_INFO_PEER)
            .ifinfo(0, 0, 0)
            .attr_str(IFLA_IFNAME, peer)
            .attr(IFLA_ADDRESS, &peer_mac)
            .attr(IFLA_MTU, &mtu.to_ne_bytes());
        if let Some(ns) = peer_ns {
            m.attr(IFLA_NET_NS_FD, &(ns.as_raw_fd() as u32).to_ne_bytes());
        }
        m.end().end().end();
        self.request(&mut m)
    }

    /// Creates a bridge `name`.
    pub(crate) fn create_bridge(&mut self, name: &str) -> Result<(), Refused> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0)
            .attr_str(IFLA_IFNAME, name)
            .begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        self.request(&mut m)
    }

    /// Makes link `index` a port of bridge `master`.
    pub(crate) fn set_master(&mut self, index: u32, master: u32) -> Result<(), Refused> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(index, 0, 0)
            .attr(IFLA_MASTER, &master.to_ne_bytes());
        self.request(&mut m)
    }

    /// Turns off IPv6 address generation on link `index`: no link-local
    /// address, so no duplicate-address detection, router solicitation or
    /// MLD traffic the test did not send.
    pub(crate) fn no_ipv6_autoconf(&mut self, index: u32) -> Result<(), Refused> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(index, 0, 0)
            .begin(IFLA_AF_SPEC)
            .begin(AF_INET6)
            .attr(IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE])
            .end()
            .end();
        self.request(&mut m)
    }

    /// Brings link `index` up.
    pub(crate) fn set_up(&mut self, index: u32) -> Result<(), Refused> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(index, IFF_UP, IFF_UP);
        self.request(&mut m)
    }

    /// Adds `addr/prefix` to link `index`.
    pub(crate) fn add_ipv4(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), Refused> {
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        };
        let broadcast = Ipv4Addr::from(u32::from(addr) | !mask);
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        let mut ifa = [0u8; 8];
        ifa[0] = AF_INET;
        ifa[1] = prefix;
        ifa[4..8].copy_from_slice(&index.to_ne_bytes());
        m.raw(&ifa)
            .attr(IFA_LOCAL, &addr.octets())
            .attr(IFA_ADDRESS, &addr.octets())
            .attr(IFA_BROADCAST, &broadcast.octets());
        self.request(&mut m)
    }

    /// Adds a permanent neighbour entry: `addr` is at `mac` on link `index`.
    pub(crate) fn add_neighbour(
        &mut self,
        index: u32,
        addr: Ipv4Addr,
        mac: [u8; 6],
    ) -> Result<(), Refused> {
        let mut m = Msg::new(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
        let mut nd = [0u8; 12];
        nd[0] = AF_INET;
        nd[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
        nd[8..10].copy_from_slice(&NUD_PERMANENT.to_ne_bytes());
        m.raw(&nd)
            .attr(NDA_DST, &addr.octets())
            .attr(NDA_LLADDR, &mac);
        self.request(&mut m)
    }

    /// Turns off checksum and segmentation offloads on link `name`, so
    /// every frame it sends is complete (checksummed) and at most one MTU
    /// long: what a relay reading it from a packet socket can forward
    /// as-is.
    pub(crate) fn no_offloads(&mut self, name: &str) -> Result<(), Refused> {
        for cmd in [
            ETHTOOL_STSO,
            ETHTOOL_SGSO,
            ETHTOOL_SGRO,
            ETHTOOL_SSG,
            ETHTOOL_STXCSUM,
        ] {
            match sys::ethtool_set(self.fd.as_fd(), name, cmd, 0) {
                Ok(()) => {}
                // A feature the device cannot change is already off.
                Err(e) if e.raw_os_error() == Some(nix::libc::EOPNOTSUPP) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// The answer to request `seq` in one datagram of netlink messages, if it
/// holds one: `Ok` for an ack, `Err` for an error.
fn parse_ack(mut data: &[u8], seq: u32) -> Option<Result<(), Refused>> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32_at(data, 0)? as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            return None;
        }
        let ty = u16_at(data, 4)?;
        let flags = u16_at(data, 6)?;
        let mseq = u32_at(data, 8)?;
        let body = &data[NLMSG_HDRLEN..len];
        if mseq == seq {
            match ty {
                NLMSG_ERROR => {
                    let err = i32::from_ne_bytes(body.get(0..4)?.try_into().ok()?);
                    if err == 0 {
                        return Some(Ok(()));
                    }
                    let message = if flags & NLM_F_ACK_TLVS != 0 {
                        // With NETLINK_CAP_ACK the echoed request is only
                        // its header; the TLVs follow it.
                        let echoed = u32_at(body, 4).map_or(NLMSG_HDRLEN, |l| {
                            if flags & 0x100 != 0 {
                                NLMSG_HDRLEN
                            } else {
                                l as usize
                            }
                        });
                        ext_ack_message(body.get(4 + echoed..).unwrap_or(&[]))
                    } else {
                        None
                    };
                    return Some(Err(Refused {
                        errno: -err,
                        message,
                    }));
                }
                NLMSG_DONE => return Some(Ok(())),
                _ => {}
            }
        }
        let step = (len + 3) & !3;
        data = data.get(step..)?;
    }
    None
}

fn ext_ack_message(mut tlvs: &[u8]) -> Option<String> {
    while tlvs.len() >= 4 {
        let len = u16_at(tlvs, 0)? as usize;
        let ty = u16_at(tlvs, 2)? & 0x3fff;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if ty == NLMSGERR_ATTR_MSG {
            let s = &tlvs[4..len];
            let s = s.split(|b| *b == 0).next().unwrap_or(s);
            return Some(String::from_utf8_lossy(s).into_owned());
        }
        tlvs = tlvs.get((len + 3) & !3..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_carry_their_length_and_the_nested_flag() {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE);
        m.ifinfo(0, 0, 0)
            .begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .end();
        let b = m.finish(7).to_vec();
        assert_eq!(u32_at(&b, 0), Some(b.len() as u32));
        assert_eq!(u32_at(&b, 8), Some(7));
        // header 16 + ifinfomsg 16, then the nest: 4 + attr(4 + "veth\0" padded to 8)
        assert_eq!(u16_at(&b, 32), Some(16));
        assert_eq!(u16_at(&b, 34), Some(IFLA_LINKINFO | NLA_F_NESTED));
        assert_eq!(&b[40..44], b"veth");
    }

    #[test]
    fn an_error_answer_carries_errno_and_message() {
        // nlmsghdr(error, flags CAPPED|ACK_TLVS, seq 3) + error -17 +
        // echoed header + TLV msg "exists"
        let mut b = Vec::new();
        let tlv_len = 4 + 7;
        let total = 16 + 4 + 16 + ((tlv_len + 3) & !3);
        b.extend_from_slice(&(total as u32).to_ne_bytes());
        b.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        b.extend_from_slice(&(0x100u16 | NLM_F_ACK_TLVS).to_ne_bytes());
        b.extend_from_slice(&3u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&(-17i32).to_ne_bytes());
        b.extend_from_slice(&[0u8; 16]);
        b.extend_from_slice(&(tlv_len as u16).to_ne_bytes());
        b.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        b.extend_from_slice(b"exists\0");
        b.push(0);
        assert_eq!(
            parse_ack(&b, 3),
            Some(Err(Refused {
                errno: 17,
                message: Some("exists".into())
            }))
        );
        assert_eq!(parse_ack(&b, 4), None);
    }
}

//! Every `unsafe` block of the network lab: thin wrappers around the system
//! calls `nix` does not cover (or marks unsafe), each returning
//! `io::Result`.
//!
//! Man pages: ioctl(2) + netdevice(7) + ioctl_ns(2) (`SIOCGIFINDEX`,
//! `SIOCETHTOOL`, `SIOCGSKNS`), packet(7) (`AF_PACKET`, `PACKET_RX_RING`),
//! sendto(2), mmap(2), setns(2), prctl(2), fsopen(2), fsmount(2), open_tree(2),
//! move_mount(2).
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use nix::libc;

/// `SOL_PACKET`, packet(7).
const SOL_PACKET: libc::c_int = 263;
/// `PACKET_RX_RING`.
const PACKET_RX_RING: libc::c_int = 5;
/// `PACKET_STATISTICS`.
const PACKET_STATISTICS: libc::c_int = 6;
/// `PACKET_VERSION`.
const PACKET_VERSION: libc::c_int = 10;
/// `PACKET_QDISC_BYPASS`.
const PACKET_QDISC_BYPASS: libc::c_int = 20;
/// `PACKET_IGNORE_OUTGOING` (Linux ≥ 4.20).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `TPACKET_V2`.
const TPACKET_V2: libc::c_int = 1;
/// `ETH_P_ALL`: every protocol.
const ETH_P_ALL: u16 = 0x0003;
/// `TP_STATUS_KERNEL`: the slot belongs to the kernel.
const TP_STATUS_KERNEL: u32 = 0;
/// `TP_STATUS_USER`: the slot holds a frame for us.
const TP_STATUS_USER: u32 = 1;
/// `SIOCGSKNS`: the network namespace of a socket, as a new descriptor.
const SIOCGSKNS: libc::c_ulong = 0x894C;
/// `SIOCETHTOOL`.
const SIOCETHTOOL: libc::c_ulong = 0x8946;
/// `SIOCGIFINDEX`.
const SIOCGIFINDEX: libc::c_ulong = 0x8933;
/// `SOL_NETLINK`, `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK`.
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_long(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `setsockopt(fd, level, name, &value, sizeof(int))`.
/// [setsockopt(2)](https://man7.org/linux/man-pages/man2/setsockopt.2.html)
fn set_int_opt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and the length passed is its size;
    // the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    cvt(r).map(drop)
}

/// An `ifreq` naming `name`, `EINVAL` if the name does not fit.
fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.is_empty() || name.len() >= req.ifr_name.len() || name.contains('\0') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

/// The index of interface `name` in the network namespace of `sock`
/// (`SIOCGIFINDEX`).
/// [netdevice(7)](https://man7.org/linux/man-pages/man7/netdevice.7.html)
pub(crate) fn if_index(sock: BorrowedFd<'_>, name: &str) -> io::Result<u32> {
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFINDEX reads the name in `req` and writes the index
    // into its union; `req` outlives the call.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGIFINDEX, &mut req) })?;
    // SAFETY: the kernel just filled `ifru_ifindex`.
    let index = unsafe { req.ifr_ifru.ifru_ifindex };
    Ok(index as u32)
}

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// Runs the legacy ethtool set command `cmd` (`ETHTOOL_STXCSUM`, ...) with
/// `data` on interface `name` (`SIOCETHTOOL`).
/// [netdevice(7)](https://man7.org/linux/man-pages/man7/netdevice.7.html),
/// `linux/ethtool.h`
pub(crate) fn ethtool_set(sock: BorrowedFd<'_>, name: &str, cmd: u32, data: u32) -> io::Result<()> {
    let mut value = EthtoolValue { cmd, data };
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
    // SAFETY: SIOCETHTOOL reads `req` (the name and a pointer to `value`,
    // an ethtool_value of the layout the command expects); both live until
    // the call returns.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL, &mut req) }).map(drop)
}

/// A descriptor for the network namespace `sock` was created in
/// (`SIOCGSKNS`, Linux ≥ 4.9): no `/proc` needed.
/// [ioctl_ns(2)](https://man7.org/linux/man-pages/man2/ioctl_ns.2.html),
/// [socket(7)](https://man7.org/linux/man-pages/man7/socket.7.html)
pub(crate) fn socket_netns(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor.
    let fd = cvt(unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSKNS) })?;
    // SAFETY: the kernel just opened `fd` for us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Asks the kernel to answer rtnetlink errors with an extended ack (an
/// error message) and without echoing the request.
/// [netlink(7)](https://man7.org/linux/man-pages/man7/netlink.7.html)
pub(crate) fn netlink_ext_ack(sock: BorrowedFd<'_>) {
    // Best effort: older kernels answer with a bare errno.
    let _ = set_int_opt(sock, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    let _ = set_int_opt(sock, SOL_NETLINK, NETLINK_EXT_ACK, 1);
}

/// An unbound `AF_PACKET` raw socket that, once [bound](packet_bind),
/// receives the frames interfaces receive (not the ones it sends), and
/// sends past the qdisc. Created with protocol 0 so that no receive hook
/// exists until `bind`: each hook change of a packet socket costs an RCU
/// grace period (`synchronize_net`), tens of milliseconds.
/// [packet(7)](https://man7.org/linux/man-pages/man7/packet.7.html)
pub(crate) fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; no pointers.
    let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: the kernel just opened `fd`; nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // Our own transmissions are not frames to relay. (Linux < 4.20 lacks
    // the option; the relay also skips PACKET_OUTGOING frames.)
    let _ = set_int_opt(sock_fd(&sock), SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    let _ = set_int_opt(sock_fd(&sock), SOL_PACKET, PACKET_QDISC_BYPASS, 1);
    Ok(sock)
}

fn link_addr(ifindex: u32, ethertype: u16) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ethertype.to_be();
    addr.sll_ifindex = ifindex as i32;
    addr
}

/// Binds packet socket `sock` to every frame (`ETH_P_ALL`) of interface
/// `ifindex` (0: every interface of its network namespace).
/// [packet(7)](https://man7.org/linux/man-pages/man7/packet.7.html)
pub(crate) fn packet_bind(sock: BorrowedFd<'_>, ifindex: u32) -> io::Result<()> {
    let addr = link_addr(ifindex, ETH_P_ALL);
    // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
    cvt(unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Sends the Ethernet frame `frame` out of interface `ifindex` on packet
/// socket `sock`, without blocking.
/// [packet(7)](https://man7.org/linux/man-pages/man7/packet.7.html),
/// [sendto(2)](https://man7.org/linux/man-pages/man2/sendto.2.html)
pub(crate) fn packet_send(sock: BorrowedFd<'_>, ifindex: u32, frame: &[u8]) -> io::Result<()> {
    let addr = link_addr(ifindex, ETH_P_ALL);
    // SAFETY: `frame` is a live buffer of the length passed and `addr` a
    // valid sockaddr_ll of the size passed; the kernel only reads both.
    let r = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            libc::MSG_DONTWAIT,
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn sock_fd(s: &OwnedFd) -> BorrowedFd<'_> {
    std::os::fd::AsFd::as_fd(s)
}

#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    packets: u32,
    drops: u32,
}

/// Frames the kernel dropped on `sock` because its ring was full, since the
/// last call (`PACKET_STATISTICS` resets on read).
/// [packet(7)](https://man7.org/linux/man-pages/man7/packet.7.html)
pub(crate) fn packet_drops(sock: BorrowedFd<'_>) -> io::Result<u64> {
    let mut st = TpacketStats::default();
    let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: `st` is a tpacket_stats of the length passed; the kernel
    // writes at most `len` bytes and updates `len`.
    cvt(unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            SOL_PACKET,
            PACKET_STATISTICS,
            (&mut st as *mut TpacketStats).cast(),
            &mut len,
        )
    })?;
    Ok(u64::from(st.drops))
}

#[repr(C)]
struct TpacketReq {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
}

/// Offset of the frame data's `sockaddr_ll` in a `TPACKET_V2` slot:
/// `TPACKET_ALIGN(sizeof(struct tpacket2_hdr))`.
const TPACKET2_HDRLEN: usize = 32;

/// A `PACKET_RX_RING` (`TPACKET_V2`) mapped into this process: the kernel
/// writes received frames into fixed-size slots and hands each to us by
/// setting its status word; we hand it back by clearing it. Unlike a
/// socket buffer, its size is not capped by `net.core.rmem_max`.
pub(crate) struct RxRing {
    base: *mut u8,
    len: usize,
    frame_size: usize,
    frames: usize,
    next: usize,
}

// SAFETY: the ring is plain memory shared with the kernel; the relay thread
// that owns an RxRing is the only user-space accessor.
unsafe impl Send for RxRing {}

/// One received frame in a ring slot.
pub(crate) struct RxFrame<'a> {
    /// The Ethernet frame (truncated if longer than the slot).
    pub data: &'a [u8],
    /// Its length on the wire.
    pub wire_len: usize,
    /// `sll_pkttype`: `PACKET_HOST`, `PACKET_BROADCAST`, ...,
    /// `PACKET_OUTGOING` (4).
    pub pkttype: u8,
    /// `sll_ifindex`: the interface it came in on.
    pub ifindex: u32,
}

impl RxRing {
    /// Sets up and maps a ring of `blocks` blocks of `block_size` bytes,
    /// cut in slots of `frame_size` bytes, on packet socket `sock`.
    pub(crate) fn new(
        sock: BorrowedFd<'_>,
        block_size: u32,
        blocks: u32,
        frame_size: u32,
    ) -> io::Result<RxRing> {
        set_int_opt(sock, SOL_PACKET, PACKET_VERSION, TPACKET_V2)?;
        let per_block = block_size / frame_size;
        let req = TpacketReq {
            block_size,
            block_nr: blocks,
            frame_size,
            frame_nr: per_block * blocks,
        };
        // SAFETY: `req` is a tpacket_req of the size passed; the kernel only
        // reads it.
        cvt(unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                SOL_PACKET,
                PACKET_RX_RING,
                (&req as *const TpacketReq).cast(),
                std::mem::size_of::<TpacketReq>() as libc::socklen_t,
            )
        })?;
        let len = block_size as usize * blocks as usize;
        // SAFETY: maps the ring the kernel just allocated for `sock`; a
        // fresh shared mapping aliases no Rust object.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                sock.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(RxRing {
            base: base.cast(),
            len,
            frame_size: frame_size as usize,
            frames: (per_block * blocks) as usize,
            next: 0,
        })
    }

    fn status(&self, slot: usize) -> &AtomicU32 {
        // SAFETY: `slot < frames`, so the slot's first 4 bytes (its
        // tp_status, 4-aligned as every slot starts at a multiple of the
        // 16-aligned frame size from a page-aligned base) lie inside the
        // mapping, which lives as long as `self`. The kernel updates the
        // word concurrently, hence an atomic view.
        unsafe { &*(self.base.add(slot * self.frame_size) as *const AtomicU32) }
    }

    /// Calls `f` with the next received frame, if there is one, then gives
    /// the slot back to the kernel. Returns whether there was a frame.
    pub(crate) fn next_frame(&mut self, f: impl FnOnce(RxFrame<'_>)) -> bool {
        let slot = self.next;
        let status = self.status(slot);
        // Acquire: the frame's bytes, written before the status, are
        // visible below.
        if status.load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            return false;
        }
        // SAFETY: the slot is ours until we store TP_STATUS_KERNEL: the
        // kernel does not touch a slot whose status has TP_STATUS_USER. Its
        // header (tpacket2_hdr) and the sockaddr_ll after it lie inside the
        // slot; tp_mac and tp_snaplen are bounded by the slot size below
        // before the data slice is formed.
        let frame = unsafe {
            let hdr = self.base.add(slot * self.frame_size);
            let read_u32 = |off: usize| std::ptr::read_unaligned(hdr.add(off) as *const u32);
            let read_u16 = |off: usize| std::ptr::read_unaligned(hdr.add(off) as *const u16);
            let wire_len = read_u32(4) as usize;
            let snaplen = read_u32(8) as usize;
            let mac = read_u16(12) as usize;
            // In the sockaddr_ll after the header, sll_ifindex is at
            // offset 4 and sll_pkttype at offset 10.
            let ifindex = read_u32(TPACKET2_HDRLEN + 4);
            let pkttype = *hdr.add(TPACKET2_HDRLEN + 10);
            let start = mac.min(self.frame_size);
            let snap = snaplen.min(self.frame_size - start);
            RxFrame {
                data: std::slice::from_raw_parts(hdr.add(start), snap),
                wire_len,
                pkttype,
                ifindex,
            }
        };
        f(frame);
        // Release: we are done reading before the kernel may reuse it.
        status.store(TP_STATUS_KERNEL, Ordering::Release);
        self.next = (slot + 1) % self.frames;
        true
    }
}

impl Drop for RxRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` created; no slice into
        // it outlives `next_frame`.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
        }
    }
}

/// Makes `cmd`, when spawned, enter the network namespace `netns` and get
/// `SIGKILL` when the thread that spawned it exits (`PR_SET_PDEATHSIG`),
/// before it executes the program.
/// [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html),
/// [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
pub(crate) fn enter_on_exec(cmd: &mut Command, netns: Arc<OwnedFd>) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec in the child and makes
    // only async-signal-safe system calls (setns, prctl, getppid, kill); it
    // allocates nothing (`io::Error::last_os_error` is an integer).
    // `netns` is kept open by the Arc the closure owns.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the prctl took effect.
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Ok(())
        })
    };
}

/// A detached tmpfs holding one file `name` with `content`, cloned as a
/// mount of that file alone, ready to be moved onto a path: nothing is
/// created anywhere in the file tree (`fsopen`, `fsmount`, `open_tree`,
/// Linux ≥ 5.2).
/// [fsopen(2)](https://man7.org/linux/man-pages/man2/fsopen.2.html),
/// [fsmount(2)](https://man7.org/linux/man-pages/man2/fsmount.2.html),
/// [open_tree(2)](https://man7.org/linux/man-pages/man2/open_tree.2.html)
pub(crate) fn detached_file_mount(
    name: &CStr,
    content: &[u8],
) -> Result<OwnedFd, (&'static str, io::Error)> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
    const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
    const MOUNT_ATTR_NOEXEC: libc::c_uint = 0x8;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let own = |r: libc::c_long| -> io::Result<OwnedFd> {
        let fd = cvt_long(r)? as RawFd;
        // SAFETY: the kernel just returned `fd`, a new descriptor.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let tmpfs = c"tmpfs";
    // SAFETY: `tmpfs` is NUL-terminated; returns a new descriptor.
    let fs = own(unsafe { libc::syscall(libc::SYS_fsopen, tmpfs.as_ptr(), FSOPEN_CLOEXEC) })
        .map_err(|e| ("fsopen(tmpfs)", e))?;
    // SAFETY: FSCONFIG_CMD_CREATE takes no key, value or aux argument.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })
    .map_err(|e| ("fsconfig(FSCONFIG_CMD_CREATE)", e))?;
    // SAFETY: plain integer arguments; returns a new descriptor.
    let mnt = own(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        )
    })
    .map_err(|e| ("fsmount", e))?;
    // SAFETY: `name` is NUL-terminated; returns a new descriptor.
    let file = own(libc::c_long::from(unsafe {
        libc::openat(
            mnt.as_raw_fd(),
            name.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    }))
    .map_err(|e| ("openat", e))?;
    let mut f = std::fs::File::from(file);
    std::io::Write::write_all(&mut f, content).map_err(|e| ("write", e))?;
    drop(f);
    // SAFETY: `name` is NUL-terminated; returns a new descriptor.
    own(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            mnt.as_raw_fd(),
            name.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    })
    .map_err(|e| ("open_tree(OPEN_TREE_CLONE)", e))
}

/// Mounts the detached mount `tree` on `target`.
/// [move_mount(2)](https://man7.org/linux/man-pages/man2/move_mount.2.html)
pub(crate) fn move_mount(tree: BorrowedFd<'_>, target: &CStr) -> io::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    // SAFETY: both paths are NUL-terminated (the empty one names `tree`
    // itself, as MOVE_MOUNT_F_EMPTY_PATH says).
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })
    .map(drop)
}

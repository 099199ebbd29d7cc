//! The relay: a thread of the test process that plays the switch. Each
//! host's cable ends in a port of a hidden switch namespace; the relay
//! reads the frames arriving on all ports from one packet-socket ring,
//! looks up the destination port by MAC address (broadcast and unknown
//! destinations go to every other port), asks the
//! [fault engine](super::fault) what becomes of each copy, and sends it
//! out of the destination port now or, held in a heap ordered by due time,
//! when it is due.
//!
//! ```text
//!  h1 eth0 ══ p1 ┐                           ┌─▶ sendto(p2) ══ h2 eth0
//!  h2 eth0 ══ p2 ┼─▶ ring ─▶ fault engine ───┤
//!  h3 eth0 ══ p3 ┘           (per path)      └─▶ heap ─▶ sendto(p3), when due
//! ```

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
use nix::sys::time::TimeSpec;

use super::config::LinkConfig;
use super::fault::{Drop, Fate, Path, Rng};
use super::sys::{self, RxRing};

/// Frames read from the ring before the relay delivers what is due.
const BATCH: usize = 64;
/// Frames the relay holds for later delivery, at most; beyond, frames are
/// dropped and counted as `overflow`.
pub(crate) const MAX_HELD: usize = 32_768;
/// `PACKET_OUTGOING`: a frame the switch itself sent.
const PACKET_OUTGOING: u8 = 4;

/// Counters of one path, updated by the relay.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub delivered: AtomicU64,
    pub lost: AtomicU64,
    pub partitioned: AtomicU64,
    pub queue_full: AtomicU64,
    pub overflow: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What the lab changes while the relay runs.
#[derive(Debug, Clone)]
pub(crate) struct Control {
    /// `configs[from * n + to]`.
    pub configs: Vec<LinkConfig>,
    /// `partitioned[from * n + to]`.
    pub partitioned: Vec<bool>,
}

/// How far the relay has got, for [`Shared::wait_idle`].
#[derive(Debug, Default)]
struct Progress {
    /// The kick counter as read at the start of the last full iteration.
    seen_kick: u64,
    /// Whether that iteration found no frame and held none.
    idle: bool,
    /// Set when the relay thread ended.
    stopped: Option<String>,
}

/// State shared between the lab (any thread) and the relay thread.
pub(crate) struct Shared {
    pub hosts: usize,
    /// The payload prefix of the lab's readiness probes.
    pub probe: Vec<u8>,
    pub counters: Vec<Counters>,
    pub send_errors: AtomicU64,
    control: Mutex<Control>,
    generation: AtomicU64,
    progress: Mutex<Progress>,
    progress_cv: Condvar,
    kick: AtomicU64,
    stop: AtomicBool,
    wake: OwnedFd,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(hosts: usize, probe: Vec<u8>, control: Control, wake: OwnedFd) -> Shared {
        let n = hosts;
        Shared {
            hosts: n,
            probe,
            counters: (0..n * n).map(|_| Counters::default()).collect(),
            send_errors: AtomicU64::new(0),
            control: Mutex::new(control),
            generation: AtomicU64::new(1),
            progress: Mutex::new(Progress::default()),
            progress_cv: Condvar::new(),
            kick: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            wake,
        }
    }

    /// Changes the control state; the relay applies it before its next
    /// frame.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Control)) {
        let mut c = lock(&self.control);
        f(&mut c);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// A copy of the control state.
    pub(crate) fn control(&self) -> Control {
        lock(&self.control).clone()
    }

    fn wake_relay(&self) {
        // A full pipe already wakes it.
        let _ = nix::unistd::write(self.wake.as_fd(), &[1]);
    }

    /// Asks the relay thread to stop.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake_relay();
    }

    /// Why the relay stopped, if it did.
    pub(crate) fn stopped(&self) -> Option<String> {
        lock(&self.progress).stopped.clone()
    }

    /// Waits until the relay holds no frame and has found none waiting in
    /// a full pass begun after this call.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> Result<(), WaitError> {
        let k = self.kick.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake_relay();
        let guard = lock(&self.progress);
        let (guard, _) = self
            .progress_cv
            .wait_timeout_while(guard, timeout, |p| {
                p.stopped.is_none() && !(p.seen_kick >= k && p.idle)
            })
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = &guard.stopped {
            return Err(WaitError::Stopped(r.clone()));
        }
        if guard.seen_kick >= k && guard.idle {
            Ok(())
        } else {
            Err(WaitError::Timeout)
        }
    }

    /// Waits until the relay is idle and `cond` (which reads counters)
    /// holds, checking at every idle moment of the relay. Frames counted
    /// by `cond` are then delivered or dropped.
    pub(crate) fn wait_until(
        &self,
        timeout: Duration,
        cond: impl Fn(&Shared) -> bool,
    ) -> Result<(), WaitError> {
        let guard = lock(&self.progress);
        let (guard, _) = self
            .progress_cv
            .wait_timeout_while(guard, timeout, |p| {
                p.stopped.is_none() && !(p.idle && cond(self))
            })
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = &guard.stopped {
            return Err(WaitError::Stopped(r.clone()));
        }
        if guard.idle && cond(self) {
            Ok(())
        } else {
            Err(WaitError::Timeout)
        }
    }

    /// Waits until the relay thread has stopped relaying.
    pub(crate) fn wait_stopped(&self, timeout: Duration) -> bool {
        let guard = lock(&self.progress);
        let (guard, _) = self
            .progress_cv
            .wait_timeout_while(guard, timeout, |p| p.stopped.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        guard.stopped.is_some()
    }

    fn publish(&self, seen_kick: u64, idle: bool) {
        let mut p = lock(&self.progress);
        p.seen_kick = seen_kick;
        p.idle = idle;
        drop(p);
        if idle {
            self.progress_cv.notify_all();
        }
    }

    fn finish(&self, reason: String) {
        lock(&self.progress).stopped = Some(reason);
        self.progress_cv.notify_all();
    }
}

/// Why [`Shared::wait_idle`] returned early.
pub(crate) enum WaitError {
    Timeout,
    Stopped(String),
}

/// The switch's ports: one packet socket for all, the ring it receives
/// into, and each port's interface index.
pub(crate) struct Ports {
    pub sock: Arc<OwnedFd>,
    pub ring: RxRing,
    pub ifindexes: Vec<u32>,
}

/// A frame waiting for its delivery time.
struct Held {
    at: u64,
    seq: u64,
    port: usize,
    frame: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, o: &Held) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Held) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    /// Reversed: the earliest frame is the heap's greatest.
    fn cmp(&self, o: &Held) -> CmpOrdering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// The relay's own state.
struct Switch {
    shared: Arc<Shared>,
    sock: Arc<OwnedFd>,
    ifindexes: Vec<u32>,
    paths: Vec<Path>,
    generation: u64,
    held: BinaryHeap<Held>,
    seq: u64,
    pool: Vec<Vec<u8>>,
    epoch: Instant,
}

impl Switch {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn refresh(&mut self) {
        let g = self.shared.generation.load(Ordering::Acquire);
        if g == self.generation {
            return;
        }
        let c = lock(&self.shared.control);
        for (i, p) in self.paths.iter_mut().enumerate() {
            if let Some(cfg) = c.configs.get(i) {
                p.config = cfg.clone();
            }
            p.partitioned = c.partitioned.get(i).copied().unwrap_or(false);
        }
        self.generation = g;
    }

    fn buffer(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_else(|| Vec::with_capacity(2048))
    }

    fn recycle(&mut self, mut frame: Vec<u8>) {
        if self.pool.len() < 4096 {
            frame.clear();
            self.pool.push(frame);
        }
    }

    fn transmit(&mut self, port: usize, frame: Vec<u8>) {
        if let Some(ifindex) = self.ifindexes.get(port) {
            if sys::packet_send(self.sock.as_fd(), *ifindex, &frame).is_err() {
                bump(&self.shared.send_errors);
            }
        }
        self.recycle(frame);
    }

    /// Sends every held frame that is due.
    fn deliver_due(&mut self, now: u64) {
        while self.held.peek().is_some_and(|h| h.at <= now) {
            if let Some(h) = self.held.pop() {
                self.transmit(h.port, h.frame);
            }
        }
    }

    fn schedule(&mut self, path: usize, port: usize, frame: Vec<u8>, at: u64, now: u64) {
        // Now, unless an earlier frame is still held (order is kept).
        if at <= now && !matches!(self.held.peek(), Some(h) if h.at <= at) {
            bump(&self.shared.counters[path].delivered);
            self.transmit(port, frame);
        } else if self.held.len() >= MAX_HELD {
            bump(&self.shared.counters[path].overflow);
            self.recycle(frame);
        } else {
            bump(&self.shared.counters[path].delivered);
            self.seq += 1;
            self.held.push(Held {
                at,
                seq: self.seq,
                port,
                frame,
            });
        }
    }

    /// One frame that came in on port `from`.
    fn handle(&mut self, from: usize, frame: Vec<u8>, wire_len: usize) {
        let n = self.shared.hosts;
        if frame.len() < 14 || n < 2 {
            self.recycle(frame);
            return;
        }
        let single = super::host_of_mac(&frame[0..6]).filter(|i| *i < n);
        if single == Some(from) {
            self.recycle(frame);
            return;
        }
        if is_probe(&frame, &self.shared.probe) {
            // The lab's own readiness probe: no faults, no counters.
            match single {
                Some(to) => self.transmit(to, frame),
                None => self.recycle(frame),
            }
            return;
        }
        match single {
            Some(to) => self.route(from, to, frame, wire_len),
            None => {
                // Broadcast, multicast or unknown: a copy to every other port.
                let last = if from + 1 == n { n - 2 } else { n - 1 };
                for to in (0..n).filter(|t| *t != from && *t != last) {
                    let mut b = self.buffer();
                    b.extend_from_slice(&frame);
                    self.route(from, to, b, wire_len);
                }
                self.route(from, last, frame, wire_len);
            }
        }
    }

    fn route(&mut self, from: usize, to: usize, frame: Vec<u8>, wire_len: usize) {
        let i = from * self.shared.hosts + to;
        let now = self.now();
        {
            let c = &self.shared.counters[i];
            bump(&c.frames);
            c.bytes.fetch_add(wire_len as u64, Ordering::Relaxed);
        }
        match self.paths[i].decide(now, wire_len) {
            Fate::Dropped(why) => {
                let c = &self.shared.counters[i];
                bump(match why {
                    Drop::Partition => &c.partitioned,
                    Drop::Loss => &c.lost,
                    Drop::Queue => &c.queue_full,
                });
                self.recycle(frame);
            }
            Fate::Delivered {
                at,
                copy_at,
                reordered,
            } => {
                if reordered {
                    bump(&self.shared.counters[i].reordered);
                }
                let copy = copy_at.map(|c| {
                    let mut b = self.buffer();
                    b.extend_from_slice(&frame);
                    (c, b)
                });
                self.schedule(i, to, frame, at, now);
                if let Some((c, b)) = copy {
                    bump(&self.shared.counters[i].duplicated);
                    self.schedule(i, to, b, c, now);
                }
            }
        }
    }
}

/// Whether `frame` is the lab's readiness probe: a UDP/IPv4 datagram whose
/// payload starts with `probe`.
fn is_probe(frame: &[u8], probe: &[u8]) -> bool {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] || frame[23] != 17 {
        return false;
    }
    let payload = 14 + usize::from(frame[14] & 0x0f) * 4 + 8;
    frame.get(payload..payload + probe.len()) == Some(probe)
}

/// Reads what is in the wake pipe, so it can signal again.
fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 64];
    while let Ok(n) = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(fd), &mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// The relay thread's body: runs until [`Shared::stop`].
pub(crate) fn run(shared: Arc<Shared>, ports: Ports, wake: OwnedFd, seed: u64, epoch: Instant) {
    // Deliveries are timed with ppoll: ask for nanosecond wake-ups.
    let _ = nix::sys::prctl::set_timerslack(1);
    let n = shared.hosts;
    let paths = (0..n * n)
        .map(|i| {
            let stream = (((i / n) as u64) << 32) | (i % n) as u64;
            Path::new(LinkConfig::new(), Rng::new(seed, stream))
        })
        .collect();
    let Ports {
        sock,
        mut ring,
        ifindexes,
    } = ports;
    // Port by interface index.
    let mut port_of = vec![None; ifindexes.iter().max().map_or(0, |m| *m as usize + 1)];
    for (port, ifindex) in ifindexes.iter().enumerate() {
        port_of[*ifindex as usize] = Some(port);
    }
    let mut sw = Switch {
        shared: shared.clone(),
        sock: sock.clone(),
        ifindexes,
        paths,
        generation: 0,
        held: BinaryHeap::new(),
        seq: 0,
        pool: Vec::new(),
        epoch,
    };
    let mut incoming: Vec<(usize, Vec<u8>, usize)> = Vec::with_capacity(BATCH);
    let reason = loop {
        // Drain before reading the kick counter: a kick that lands after
        // the drain leaves the pipe readable, so ppoll below returns.
        drain(&wake);
        let kick = shared.kick.load(Ordering::SeqCst);
        if shared.stop.load(Ordering::SeqCst) {
            break "stopped".to_string();
        }
        sw.refresh();
        let now = sw.now();
        sw.deliver_due(now);
        let mut got = 0;
        for _ in 0..BATCH {
            let mut buf = sw.buffer();
            let mut meta = None;
            let had = ring.next_frame(|f| {
                let port = port_of.get(f.ifindex as usize).copied().flatten();
                if let Some(port) = port {
                    if f.pkttype != PACKET_OUTGOING && f.data.len() == f.wire_len {
                        buf.extend_from_slice(f.data);
                        meta = Some((port, f.wire_len));
                    }
                }
            });
            if !had {
                sw.recycle(buf);
                break;
            }
            got += 1;
            match meta {
                Some((port, len)) => incoming.push((port, buf, len)),
                None => sw.recycle(buf),
            }
        }
        if got > 0 {
            // Not idle from before the counters move: a waiter that sees
            // the new counts also sees this.
            shared.publish(kick, false);
            for (from, frame, len) in incoming.drain(..) {
                sw.handle(from, frame, len);
            }
            continue;
        }
        let now = sw.now();
        sw.deliver_due(now);
        // Idle: no frame waited in the ring when checked (after `kick` was
        // read) and none is held.
        shared.publish(kick, sw.held.is_empty());
        let timeout = sw.held.peek().map(|h| {
            let wait = h.at.saturating_sub(now);
            TimeSpec::from_duration(Duration::from_nanos(wait))
        });
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        match nix::poll::ppoll(&mut fds, timeout, None) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => break format!("ppoll => {}", crate::error::errno_name(e as i32)),
        }
    };
    shared.finish(reason);
}

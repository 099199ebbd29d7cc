//! The relay: a thread of the test process that plays the switch. Each
//! host's cable ends in a hidden switch namespace; the relay reads the
//! frames arriving there from a packet-socket ring per port, looks up the
//! destination port by MAC address (broadcast and unknown destinations go
//! to every other port), asks the [fault engine](super::fault) what
//! becomes of each copy, and sends it out of the destination port when it
//! is due.
//!
//! ```text
//!  h1 eth0 ══ p1 ┐                        ┌─▶ send(p2) ══ h2 eth0
//!  h2 eth0 ══ p2 ┼─ ring ─▶ fault engine ─┤   (now, or from a heap of
//!  h3 eth0 ══ p3 ┘           (per path)   └─▶  frames ordered by due time)
//! ```

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};
use nix::sys::socket::{send, MsgFlags};
use nix::sys::time::TimeSpec;

use super::config::LinkConfig;
use super::fault::{Drop, Fate, Path, Rng};
use super::sys::RxRing;

/// Frames read from one port before the relay turns to the next.
const BATCH: usize = 64;
/// Frames the relay holds for later delivery, at most; beyond, frames are
/// dropped and counted as `overflow`.
pub(crate) const MAX_HELD: usize = 32_768;
/// `PACKET_OUTGOING`: a frame this port sent.
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
    pub macs: Vec<[u8; 6]>,
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
    pub(crate) fn new(macs: Vec<[u8; 6]>, control: Control, wake: OwnedFd) -> Shared {
        let n = macs.len();
        Shared {
            hosts: n,
            macs,
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

/// A switch port: its packet socket and the ring it receives into.
pub(crate) struct Port {
    pub sock: Arc<OwnedFd>,
    pub ring: RxRing,
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
    socks: Vec<Arc<OwnedFd>>,
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
        if let Some(s) = self.socks.get(port) {
            if send(
                std::os::fd::AsRawFd::as_raw_fd(&**s),
                &frame,
                MsgFlags::MSG_DONTWAIT,
            )
            .is_err()
            {
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
        let dst = &frame[0..6];
        let single = if dst[0] & 1 == 0 {
            self.shared.macs.iter().position(|m| m == dst)
        } else {
            None
        };
        if single == Some(from) {
            self.recycle(frame);
            return;
        }
        if frame[12..14] == super::PROBE_ETHERTYPE.to_be_bytes() {
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
pub(crate) fn run(shared: Arc<Shared>, ports: Vec<Port>, wake: OwnedFd, seed: u64, epoch: Instant) {
    // Deliveries are timed with ppoll: ask for nanosecond wake-ups.
    let _ = nix::sys::prctl::set_timerslack(1);
    let n = shared.hosts;
    let paths = (0..n * n)
        .map(|i| {
            let stream = (((i / n) as u64) << 32) | (i % n) as u64;
            Path::new(LinkConfig::new(), Rng::new(seed, stream))
        })
        .collect();
    let (socks, mut rings): (Vec<Arc<OwnedFd>>, Vec<RxRing>) =
        ports.into_iter().map(|p| (p.sock, p.ring)).unzip();
    let mut sw = Switch {
        shared: shared.clone(),
        socks: socks.clone(),
        paths,
        generation: 0,
        held: BinaryHeap::new(),
        seq: 0,
        pool: Vec::new(),
        epoch,
    };
    let mut incoming: Vec<(Vec<u8>, usize)> = Vec::with_capacity(BATCH);
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
        for (from, ring) in rings.iter_mut().enumerate() {
            for _ in 0..BATCH {
                let mut buf = sw.buffer();
                let mut meta = None;
                let had = ring.next_frame(|f| {
                    if f.pkttype != PACKET_OUTGOING && f.data.len() == f.wire_len {
                        buf.extend_from_slice(f.data);
                        meta = Some(f.wire_len);
                    }
                });
                if !had {
                    sw.recycle(buf);
                    break;
                }
                got += 1;
                match meta {
                    Some(len) => incoming.push((buf, len)),
                    None => sw.recycle(buf),
                }
            }
            for (frame, len) in incoming.drain(..) {
                sw.handle(from, frame, len);
            }
        }
        if got > 0 {
            shared.publish(kick, false);
            continue;
        }
        let now = sw.now();
        sw.deliver_due(now);
        // Idle: no frame waited in the rings when checked (after `kick`
        // was read) and none is held.
        shared.publish(kick, sw.held.is_empty());
        let timeout = sw.held.peek().map(|h| {
            let wait = h.at.saturating_sub(now);
            TimeSpec::from_duration(Duration::from_nanos(wait))
        });
        let mut fds: Vec<PollFd<'_>> = socks
            .iter()
            .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
            .chain(std::iter::once(PollFd::new(
                wake.as_fd(),
                PollFlags::POLLIN,
            )))
            .collect();
        match nix::poll::ppoll(&mut fds, timeout, None) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => break format!("ppoll => {}", crate::error::errno_name(e as i32)),
        }
    };
    shared.finish(reason);
}

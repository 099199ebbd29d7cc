//! The fault engine: for each frame entering a path (one direction of a
//! link), decide from a seeded generator whether it is dropped, when it is
//! delivered, and whether a second copy follows. Pure: time is a number of
//! nanoseconds, so the decisions are unit-tested without a network.
//!
//! Every frame draws the same five numbers from its path's generator,
//! whatever the configuration, so the n-th frame of a path meets the same
//! fate for the same seed and configuration, and a configuration change
//! does not shift the fates of the frames after it.

use std::collections::VecDeque;

use super::config::LinkConfig;

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng([u64; 4]);

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// The generator for stream `stream` of seed `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut st = stream.wrapping_mul(0xd1b5_4a32_d192_ed03);
        let mut s = seed ^ splitmix64(&mut st);
        Rng([
            splitmix64(&mut s),
            splitmix64(&mut s),
            splitmix64(&mut s),
            splitmix64(&mut s),
        ])
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Why a frame was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drop {
    /// The path is cut by a partition.
    Partition,
    /// Random loss.
    Loss,
    /// The rate limiter's queue was full.
    Queue,
}

/// What becomes of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Dropped.
    Dropped(Drop),
    /// Delivered at `at` (nanoseconds), and a copy at `copy_at` if
    /// duplicated.
    Delivered {
        at: u64,
        copy_at: Option<u64>,
        reordered: bool,
    },
}

/// One direction of a link: its configuration and state.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub config: LinkConfig,
    pub partitioned: bool,
    rng: Rng,
    /// When the rate limiter finishes sending the last queued frame.
    busy_until: u64,
    /// Completion times of the frames in the rate limiter's queue.
    queued: VecDeque<u64>,
    /// Delivery time of the last in-order frame: later frames are never
    /// delivered before it (jitter does not reorder).
    last_at: u64,
}

fn ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Path {
    pub(crate) fn new(config: LinkConfig, rng: Rng) -> Path {
        Path {
            config,
            partitioned: false,
            rng,
            busy_until: 0,
            queued: VecDeque::new(),
            last_at: 0,
        }
    }

    /// `uniform(delay - jitter, delay + jitter)`, at least 0, from `u`.
    fn delay_from(&self, u: f64) -> u64 {
        let delay = ns(self.config.delay) as f64;
        let jitter = ns(self.config.jitter) as f64;
        (delay + jitter * (2.0 * u - 1.0)).max(0.0) as u64
    }

    /// The fate of a frame of `len` bytes entering the path at `now`.
    pub(crate) fn decide(&mut self, now: u64, len: usize) -> Fate {
        let (u_loss, u_dup, u_reorder, u_delay, u_copy) = (
            self.rng.unit(),
            self.rng.unit(),
            self.rng.unit(),
            self.rng.unit(),
            self.rng.unit(),
        );
        if self.partitioned {
            return Fate::Dropped(Drop::Partition);
        }
        if u_loss < self.config.loss {
            return Fate::Dropped(Drop::Loss);
        }
        let sent = match self.config.rate_bps {
            Some(rate) => {
                while self.queued.front().is_some_and(|t| *t <= now) {
                    self.queued.pop_front();
                }
                if self.queued.len() >= self.config.queue {
                    return Fate::Dropped(Drop::Queue);
                }
                let start = now.max(self.busy_until);
                let tx = (len as u128 * 8 * 1_000_000_000 / u128::from(rate.max(1))) as u64;
                self.busy_until = start.saturating_add(tx);
                self.queued.push_back(self.busy_until);
                self.busy_until
            }
            None => now,
        };
        let reordered = u_reorder < self.config.reorder && !self.config.delay.is_zero();
        let at = if reordered {
            sent
        } else {
            let at = sent
                .saturating_add(self.delay_from(u_delay))
                .max(self.last_at);
            self.last_at = at;
            at
        };
        let copy_at = (u_dup < self.config.duplicate).then(|| {
            if reordered {
                at
            } else {
                let c = sent
                    .saturating_add(self.delay_from(u_copy))
                    .max(self.last_at);
                self.last_at = c;
                c
            }
        });
        Fate::Delivered {
            at,
            copy_at,
            reordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn path(c: LinkConfig, seed: u64) -> Path {
        Path::new(c, Rng::new(seed, 1))
    }

    #[test]
    fn an_ideal_path_delivers_everything_at_once() {
        let mut p = path(LinkConfig::new(), 1);
        for t in 0..100 {
            assert_eq!(
                p.decide(t, 100),
                Fate::Delivered {
                    at: t,
                    copy_at: None,
                    reordered: false
                }
            );
        }
    }

    #[test]
    fn loss_is_near_its_probability_and_reproducible() {
        let run = |seed| {
            let mut p = path(LinkConfig::new().loss(0.1), seed);
            (0..100_000)
                .map(|t| matches!(p.decide(t, 100), Fate::Dropped(Drop::Loss)))
                .collect::<Vec<bool>>()
        };
        let a = run(7);
        let lost = a.iter().filter(|x| **x).count();
        assert!((9_000..11_000).contains(&lost), "{lost}");
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
    }

    #[test]
    fn streams_of_one_seed_differ() {
        let mut a = Rng::new(5, 1);
        let mut b = Rng::new(5, 2);
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn delay_and_jitter_keep_order() {
        let ms = 1_000_000;
        let mut p = path(
            LinkConfig::new()
                .delay(Duration::from_millis(10))
                .jitter(Duration::from_millis(9)),
            3,
        );
        let mut last = 0;
        for t in 0..1000u64 {
            let Fate::Delivered { at, .. } = p.decide(t * 10_000, 100) else {
                panic!("dropped")
            };
            assert!(at >= t * 10_000 + ms, "at least delay - jitter");
            assert!(at >= last, "in order");
            last = at;
        }
    }

    #[test]
    fn reordered_frames_overtake() {
        let mut p = path(
            LinkConfig::new()
                .delay(Duration::from_millis(10))
                .reorder(0.5),
            4,
        );
        let fates: Vec<Fate> = (0..100).map(|t| p.decide(t, 100)).collect();
        let overtaking = fates
            .iter()
            .filter(
                |f| matches!(f, Fate::Delivered { reordered: true, at, .. } if *at < 10_000_000),
            )
            .count();
        assert!((30..70).contains(&overtaking), "{overtaking}");
    }

    #[test]
    fn the_rate_spaces_frames_and_the_queue_overflows() {
        // 1000-byte frames at 8 Mbit/s: 1 ms each.
        let mut p = path(LinkConfig::new().rate_bps(8_000_000).queue(10), 5);
        let ats: Vec<Fate> = (0..12).map(|_| p.decide(0, 1000)).collect();
        for (i, f) in ats.iter().take(10).enumerate() {
            assert_eq!(
                *f,
                Fate::Delivered {
                    at: (i as u64 + 1) * 1_000_000,
                    copy_at: None,
                    reordered: false
                }
            );
        }
        assert_eq!(ats[10], Fate::Dropped(Drop::Queue));
        // After the queue drains, frames pass again.
        assert!(matches!(
            p.decide(20_000_000, 1000),
            Fate::Delivered { at: 21_000_000, .. }
        ));
    }

    #[test]
    fn duplicates_follow_the_original() {
        let mut p = path(LinkConfig::new().duplicate(1.0), 6);
        assert_eq!(
            p.decide(5, 100),
            Fate::Delivered {
                at: 5,
                copy_at: Some(5),
                reordered: false
            }
        );
    }

    #[test]
    fn a_partition_drops_but_keeps_the_stream_in_step() {
        let mut a = path(LinkConfig::new().loss(0.5), 9);
        let mut b = path(LinkConfig::new().loss(0.5), 9);
        b.partitioned = true;
        for t in 0..10 {
            assert_eq!(b.decide(t, 1), Fate::Dropped(Drop::Partition));
            a.decide(t, 1);
        }
        b.partitioned = false;
        for t in 10..100 {
            assert_eq!(a.decide(t, 1), b.decide(t, 1));
        }
    }
}

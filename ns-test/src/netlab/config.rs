//! [`LinkConfig`]: what a link does to the frames crossing it.

use std::time::Duration;

use super::error::Error;

/// The faults of one direction of a link between two hosts, applied by the
/// relay to every frame crossing it (see the [module docs](super) for the
/// exact semantics). The default is an ideal link: no delay, no loss,
/// unlimited rate.
///
/// ```
/// use std::time::Duration;
/// use ns_test::netlab::LinkConfig;
///
/// let wan = LinkConfig::new()
///     .delay(Duration::from_millis(100))
///     .jitter(Duration::from_millis(10))
///     .loss(0.05)
///     .rate_bps(10_000_000);
/// assert_eq!(wan.loss, 0.05);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LinkConfig {
    /// One-way delay added to every frame (so a round trip over a link with
    /// `delay` in both directions takes at least twice this).
    pub delay: Duration,
    /// Each frame's delay is drawn uniformly from `delay ± jitter` (never
    /// below zero). Frames still arrive in the order they were sent: use
    /// [`reorder`](LinkConfig::reorder) for reordering.
    pub jitter: Duration,
    /// Probability in `0.0..=1.0` that a frame is dropped.
    pub loss: f64,
    /// Probability in `0.0..=1.0` that a frame is delivered twice.
    pub duplicate: f64,
    /// Probability in `0.0..=1.0` that a frame skips the delay and so
    /// overtakes the frames queued before it (as `netem reorder` does);
    /// needs a non-zero `delay` to have an effect.
    pub reorder: f64,
    /// Rate limit in bits per second of Ethernet frame bytes; `None` is
    /// unlimited. Frames wait in a queue of [`queue`](LinkConfig::queue)
    /// frames while the link is busy, and are dropped when it is full.
    pub rate_bps: Option<u64>,
    /// Length of the rate limiter's queue, in frames (default 1000).
    pub queue: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig::new()
    }
}

impl LinkConfig {
    /// An ideal link: no delay, no loss, no rate limit.
    pub const fn new() -> LinkConfig {
        LinkConfig {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            rate_bps: None,
            queue: 1000,
        }
    }

    /// Sets [`delay`](LinkConfig::delay).
    pub const fn delay(mut self, delay: Duration) -> LinkConfig {
        self.delay = delay;
        self
    }

    /// Sets [`jitter`](LinkConfig::jitter).
    pub const fn jitter(mut self, jitter: Duration) -> LinkConfig {
        self.jitter = jitter;
        self
    }

    /// Sets [`loss`](LinkConfig::loss), a probability (`0.05` = 5 %).
    pub const fn loss(mut self, probability: f64) -> LinkConfig {
        self.loss = probability;
        self
    }

    /// Sets [`duplicate`](LinkConfig::duplicate), a probability.
    pub const fn duplicate(mut self, probability: f64) -> LinkConfig {
        self.duplicate = probability;
        self
    }

    /// Sets [`reorder`](LinkConfig::reorder), a probability.
    pub const fn reorder(mut self, probability: f64) -> LinkConfig {
        self.reorder = probability;
        self
    }

    /// Sets [`rate_bps`](LinkConfig::rate_bps), in bits per second.
    pub const fn rate_bps(mut self, bits_per_second: u64) -> LinkConfig {
        self.rate_bps = Some(bits_per_second);
        self
    }

    /// Sets [`queue`](LinkConfig::queue), in frames.
    pub const fn queue(mut self, frames: usize) -> LinkConfig {
        self.queue = frames;
        self
    }

    /// Whether the link does nothing to frames.
    pub fn is_ideal(&self) -> bool {
        self.delay.is_zero()
            && self.jitter.is_zero()
            && self.loss == 0.0
            && self.duplicate == 0.0
            && self.reorder == 0.0
            && self.rate_bps.is_none()
    }

    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), Error> {
        let prob = |field: &'static str, p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err(Error::Config {
                    field,
                    value: p.to_string(),
                    expected: "a probability between 0.0 and 1.0",
                })
            }
        };
        prob("loss", self.loss)?;
        prob("duplicate", self.duplicate)?;
        prob("reorder", self.reorder)?;
        let hour = Duration::from_secs(3600);
        for (field, d) in [("delay", self.delay), ("jitter", self.jitter)] {
            if d > hour {
                return Err(Error::Config {
                    field,
                    value: format!("{d:?}"),
                    expected: "at most one hour",
                });
            }
        }
        if self.rate_bps == Some(0) {
            return Err(Error::Config {
                field: "rate_bps",
                value: "0".into(),
                expected: "a rate above 0 bits per second (None for unlimited)",
            });
        }
        if self.queue == 0 || self.queue > 1_000_000 {
            return Err(Error::Config {
                field: "queue",
                value: self.queue.to_string(),
                expected: "between 1 and 1000000 frames",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_fields_are_named() {
        let e = LinkConfig::new().loss(1.5).validate().unwrap_err();
        assert!(e.to_string().contains("loss"), "{e}");
        assert!(LinkConfig::new().loss(f64::NAN).validate().is_err());
        assert!(LinkConfig::new().rate_bps(0).validate().is_err());
        assert!(LinkConfig::new().queue(0).validate().is_err());
        assert!(LinkConfig::new()
            .delay(Duration::from_millis(100))
            .loss(0.05)
            .validate()
            .is_ok());
    }
}

//! [`RetryPolicy`]: capped exponential backoff with (by default full) jitter, one policy for every
//! sink.
//!
//! Enters: the number of the retry about to happen. Leaves: how long to wait before it, and
//! whether another attempt is allowed. Guarantees: never panics whatever the parameters (NaN,
//! negative, huge), every delay lies in `[cap * (1 - jitter), cap]` where
//! `cap = min(max, initial * multiplier^retry)`, and by default attempts never run out.

use std::time::Duration;

/// Backoff between attempts to send one batch.
///
/// The wait before retry `n` (0 for the first retry) is `cap(n) * (1 - jitter * u)` with `u`
/// uniform in `[0, 1)` and `cap(n) = min(max, initial * multiplier^n)`; `jitter = 1.0` is AWS's
/// "full jitter". Out-of-range parameters are tamed: `multiplier` below 1 or NaN acts as 1,
/// `jitter` is clamped to `[0, 1]` (NaN acts as 0), and `initial > max` acts as `max`.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Cap of the first retry's wait.
    pub initial: Duration,
    /// Largest wait.
    pub max: Duration,
    /// Growth of the cap per retry.
    pub multiplier: f64,
    /// Fraction of the cap that is randomised (0 = deterministic, 1 = full jitter).
    pub jitter: f64,
    /// Total attempts (first send included) before a batch is given up; `None` = never give up.
    pub max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    /// 200 ms initial, 30 s max, ×2, full jitter, unlimited attempts.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 1.0,
            max_attempts: None,
        }
    }
}

impl RetryPolicy {
    /// The un-jittered cap of the wait before retry `retry` (0-based).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let max = self.max.as_secs_f64();
        let multiplier = if self.multiplier >= 1.0 {
            self.multiplier
        } else {
            1.0
        };
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * multiplier.powi(exponent);
        if !secs.is_finite() || secs >= max {
            return self.max;
        }
        Duration::try_from_secs_f64(secs).unwrap_or(self.max)
    }

    /// The wait before retry `retry` for a given random draw `unit` in `[0, 1)` (values outside
    /// are clamped). Deterministic; [`RetryPolicy::delay`] draws `unit` itself.
    pub fn delay_with(&self, retry: u32, unit: f64) -> Duration {
        let jitter = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        let cap = self.backoff_cap(retry);
        let factor = 1.0 - jitter * unit;
        Duration::try_from_secs_f64(cap.as_secs_f64() * factor)
            .unwrap_or(cap)
            .min(cap)
    }

    /// The wait before retry `retry` (0-based), jittered.
    pub fn delay(&self, retry: u32) -> Duration {
        self.delay_with(retry, fastrand::f64())
    }

    /// Whether another attempt may follow `attempts_made` attempts.
    pub fn allows_attempt(&self, attempts_made: u32) -> bool {
        self.max_attempts.is_none_or(|max| attempts_made < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deterministic() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: 0.0,
            max_attempts: None,
        }
    }

    #[test]
    fn cap_grows_geometrically_then_stays_at_max() {
        let policy = deterministic();
        let caps: Vec<u128> = (0..10).map(|n| policy.backoff_cap(n).as_millis()).collect();
        assert_eq!(
            caps,
            vec![100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]
        );
        assert_eq!(policy.backoff_cap(u32::MAX), Duration::from_secs(5));
        assert_eq!(policy.delay(3), Duration::from_millis(800), "no jitter");
    }

    #[test]
    fn jittered_delays_stay_within_the_jitter_range() {
        let policy = RetryPolicy {
            jitter: 0.5,
            ..deterministic()
        };
        let cap = policy.backoff_cap(4);
        let (mut low, mut high) = (cap, Duration::ZERO);
        for _ in 0..2_000 {
            let delay = policy.delay(4);
            assert!(
                delay >= cap / 2 && delay <= cap,
                "{delay:?} outside [{:?}, {cap:?}]",
                cap / 2
            );
            low = low.min(delay);
            high = high.max(delay);
        }
        // 2000 draws spread over most of the range (a fixed delay would fail this).
        assert!(
            low < cap * 6 / 10 && high > cap * 9 / 10,
            "{low:?}..{high:?}"
        );
        assert_eq!(policy.delay_with(4, 0.0), cap);
        assert_eq!(policy.delay_with(4, 1.0), cap / 2);
    }

    #[test]
    fn full_jitter_spans_zero_to_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.jitter, 1.0);
        assert_eq!(policy.delay_with(0, 0.0), Duration::from_millis(200));
        assert_eq!(policy.delay_with(0, 1.0), Duration::ZERO);
        assert_eq!(policy.delay_with(2, 0.25), Duration::from_millis(600));
        for retry in 0..50 {
            assert!(policy.delay(retry) <= Duration::from_secs(30));
        }
    }

    #[test]
    fn absurd_parameters_do_not_panic_and_respect_max() {
        let weird = [
            RetryPolicy {
                multiplier: f64::NAN,
                jitter: f64::NAN,
                ..deterministic()
            },
            RetryPolicy {
                multiplier: -3.0,
                jitter: 7.0,
                ..deterministic()
            },
            RetryPolicy {
                multiplier: f64::INFINITY,
                jitter: -1.0,
                ..deterministic()
            },
            RetryPolicy {
                initial: Duration::MAX,
                max: Duration::from_secs(1),
                ..deterministic()
            },
            RetryPolicy {
                initial: Duration::ZERO,
                max: Duration::MAX,
                multiplier: 1e308,
                ..deterministic()
            },
        ];
        for policy in weird {
            for retry in [0, 1, 2, 100, u32::MAX] {
                for unit in [0.0, 0.5, 1.0, f64::NAN, -2.0] {
                    assert!(policy.delay_with(retry, unit) <= policy.max, "{policy:?}");
                }
            }
        }
        let shrinking = RetryPolicy {
            multiplier: 0.5,
            ..deterministic()
        };
        assert_eq!(shrinking.backoff_cap(5), Duration::from_millis(100));
    }

    #[test]
    fn attempts_are_unlimited_unless_capped() {
        assert!(RetryPolicy::default().allows_attempt(u32::MAX));
        let capped = RetryPolicy {
            max_attempts: Some(3),
            ..deterministic()
        };
        assert!(capped.allows_attempt(2));
        assert!(!capped.allows_attempt(3));
    }
}

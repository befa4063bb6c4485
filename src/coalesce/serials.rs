//! One node's kernel serial sequence: where a serial stands (new, seen, late, reset) and which
//! serials were never seen (lost).
//!
//! In: serials with their audit time, in file order. Out: a [`Placement`] per new event and counts
//! of lost serials when the owner settles a range. Memory is one `u32` per remembered serial
//! (`window`, a power of two), allocated on first use.
//!
//! Serials are mapped to an unwrapped position (`pos`): the kernel's counter is 32 bits and rolls
//! over (`…:4294967295` then `…:0`), so the step between two serials below 2^32 is taken modulo
//! 2^32, the nearest way round. A slot of the ring remembers the audit time of the event that had
//! that position (0 = never seen): a flushed event is recognised again only if the time matches.
//!
//! Reset rule (kernel reboot, another host's log, a restored file): the sequence restarts, with no
//! loss counted for the jump, when
//! - a serial is more than [`FORWARD_RESET_GAP`] ahead of the newest one;
//! - a serial within memory was seen with a *different* time (same serial, different stamp: a
//!   different event, which one boot never produces);
//! - a serial behind the memory window carries a time more than [`RESET_TIME_LEAP_MS`] after the
//!   newest time seen (a reboot; a very late record of the same boot has an older time).
//!
//! A record further behind than memory that is not a reset is "stale": the owner emits it on its
//! own as a continuation, since it can no longer tell whether its event was emitted.

use auditrail_parsers::audit::AuditTime;

/// A forward jump larger than this (in serials) is a new sequence, not a loss.
pub const FORWARD_RESET_GAP: u64 = 1 << 20;

/// A record far behind the window whose time is this much newer than anything seen is a reboot.
pub const RESET_TIME_LEAP_MS: u64 = 5_000;

/// First position of every sequence: room below for late records, far from overflow.
const ORIGIN: u64 = 1 << 40;

/// Where a serial stands relative to what this node has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Ahead of every serial seen (or the first one): becomes the newest.
    Newest { pos: u64 },
    /// Seen before with the same time: its event was already started (and flushed, if the owner
    /// has no open event for it).
    Seen { pos: u64 },
    /// Behind the newest, never seen. `after_settled` when it had already been counted lost.
    Late { pos: u64, after_settled: bool },
    /// The sequence restarted: call [`SerialTracker::reset`], then place again.
    Reset,
    /// Too far behind to know anything about it.
    Stale,
}

/// The newest serial of the current sequence.
#[derive(Debug, Clone, Copy)]
struct Newest {
    serial: u64,
    pos: u64,
}

#[derive(Debug)]
pub struct SerialTracker {
    /// Audit-time tag of each remembered position (`pos & mask`), 0 = not seen.
    ring: Vec<u32>,
    window: usize,
    newest: Option<Newest>,
    /// Lowest position still remembered.
    base: u64,
    /// Positions below this have been settled (their absence counted as loss).
    settled: u64,
    /// Position of the sequence's first serial: gaps are counted from here on.
    first: u64,
    newest_time_ms: u64,
    epoch: u32,
}

fn time_tag(time: AuditTime) -> u32 {
    // Low 32 bits of the millisecond stamp; 0 is reserved for "not seen".
    (time.as_millis() as u32).max(1)
}

impl SerialTracker {
    /// `window` is rounded up to a power of two, at least 64.
    pub fn new(window: usize) -> Self {
        SerialTracker {
            ring: Vec::new(),
            window: window.clamp(64, 1 << 24).next_power_of_two(),
            newest: None,
            base: ORIGIN,
            settled: ORIGIN,
            first: ORIGIN,
            newest_time_ms: 0,
            epoch: 0,
        }
    }

    /// Increases at every reset; events remember theirs so old positions are not mixed in.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The newest serial of the current sequence, if any.
    pub fn newest_serial(&self) -> Option<u64> {
        self.newest.map(|n| n.serial)
    }

    fn slot(&self, pos: u64) -> usize {
        (pos as usize) & (self.window - 1)
    }

    /// Where `serial` (stamped `time`) stands. Pure: changes nothing.
    pub fn place(&self, serial: u64, time: AuditTime) -> Placement {
        let Some(newest) = self.newest else {
            return Placement::Newest { pos: ORIGIN };
        };
        let step = signed_step(newest.serial, serial);
        if step > 0 {
            if step as u64 > FORWARD_RESET_GAP {
                return Placement::Reset;
            }
            return Placement::Newest {
                pos: newest.pos + step as u64,
            };
        }
        let back = step.unsigned_abs();
        let Some(pos) = newest.pos.checked_sub(back).filter(|p| *p >= self.base) else {
            let leap = time.as_millis().saturating_sub(self.newest_time_ms);
            return if leap > RESET_TIME_LEAP_MS {
                Placement::Reset
            } else {
                Placement::Stale
            };
        };
        match self.ring.get(self.slot(pos)).copied().unwrap_or(0) {
            0 => Placement::Late {
                pos,
                after_settled: pos < self.settled && pos >= self.first,
            },
            tag if tag == time_tag(time) => Placement::Seen { pos },
            _ => Placement::Reset,
        }
    }

    /// Records that an event with `serial` at `pos` (from [`Self::place`]) exists. For a
    /// [`Placement::Newest`], the window slides; serials leaving it unseen and unsettled are
    /// returned as lost.
    pub fn mark_seen(&mut self, serial: u64, pos: u64, time: AuditTime) -> u64 {
        if self.ring.is_empty() {
            self.ring = vec![0; self.window];
        }
        let mut lost = 0;
        match self.newest {
            None => {
                self.base = pos.saturating_sub(self.window as u64 / 2);
                self.settled = pos;
                self.first = pos;
                self.newest = Some(Newest { serial, pos });
            }
            Some(n) if pos > n.pos => {
                self.newest = Some(Newest { serial, pos });
                let lowest_kept = (pos + 1).saturating_sub(self.window as u64);
                if lowest_kept > self.base {
                    lost = self.settle_to(lowest_kept);
                    self.forget_below(lowest_kept);
                }
            }
            Some(_) => {}
        }
        self.newest_time_ms = self.newest_time_ms.max(time.as_millis());
        let slot = self.slot(pos);
        self.ring[slot] = time_tag(time);
        lost
    }

    /// Counts the unseen positions in `[settled, upto)` as lost and settles them. Never settles
    /// past the newest serial.
    pub fn settle_to(&mut self, upto: u64) -> u64 {
        let Some(newest) = self.newest else { return 0 };
        let upto = upto.min(newest.pos + 1);
        let from = self.settled.max(self.base);
        if upto <= from {
            return 0;
        }
        // Only `[base, base + window)` is remembered; anything past it was never written.
        let covered_end = upto.min(self.base + self.window as u64);
        let unseen_covered = (from..covered_end.max(from))
            .filter(|&p| self.ring[self.slot(p)] == 0)
            .count() as u64;
        let uncovered = upto - covered_end.max(from);
        self.settled = upto;
        unseen_covered + uncovered
    }

    /// Settles everything up to and including the newest serial.
    pub fn settle_all(&mut self) -> u64 {
        self.settle_to(u64::MAX)
    }

    /// Starts a new sequence: the old one is settled (its gaps counted) and forgotten.
    pub fn reset(&mut self) -> u64 {
        let lost = self.settle_all();
        self.ring.iter_mut().for_each(|t| *t = 0);
        self.newest = None;
        self.base = ORIGIN;
        self.settled = ORIGIN;
        self.first = ORIGIN;
        self.newest_time_ms = 0;
        self.epoch = self.epoch.wrapping_add(1);
        lost
    }

    fn forget_below(&mut self, new_base: u64) {
        let count = (new_base - self.base).min(self.window as u64);
        for p in self.base..self.base + count {
            let slot = self.slot(p);
            self.ring[slot] = 0;
        }
        self.base = new_base;
        self.settled = self.settled.max(new_base);
    }
}

/// Step from `from` to `to`: modulo 2^32 (the nearest way round) when both fit the kernel's
/// 32-bit counter, plain difference otherwise (saturated).
fn signed_step(from: u64, to: u64) -> i64 {
    if from <= u64::from(u32::MAX) && to <= u64::from(u32::MAX) {
        i64::from((to as u32).wrapping_sub(from as u32) as i32)
    } else {
        let diff = i128::from(to) - i128::from(from);
        diff.clamp(i128::from(i64::MIN + 1), i128::from(i64::MAX)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> AuditTime {
        AuditTime { secs, millis: 0 }
    }

    #[test]
    fn rollover_is_a_step_of_one() {
        assert_eq!(signed_step(4_294_967_295, 0), 1);
        assert_eq!(signed_step(0, 4_294_967_295), -1);
        assert_eq!(signed_step(10, 7), -3);
        assert_eq!(signed_step(u64::MAX, 0), i64::MIN + 1);
    }

    #[test]
    fn gaps_are_counted_once_settled() {
        let mut t = SerialTracker::new(64);
        for s in [10, 11, 15] {
            let Placement::Newest { pos } = t.place(s, at(1)) else {
                panic!("{s} should be newest")
            };
            assert_eq!(t.mark_seen(s, pos, at(1)), 0);
        }
        assert_eq!(t.settle_all(), 3);
        assert_eq!(t.settle_all(), 0);
        assert!(matches!(
            t.place(12, at(1)),
            Placement::Late {
                after_settled: true,
                ..
            }
        ));
        assert!(matches!(t.place(11, at(1)), Placement::Seen { .. }));
        assert_eq!(t.place(11, at(99)), Placement::Reset);
    }

    #[test]
    fn sliding_past_unseen_serials_counts_them() {
        let mut t = SerialTracker::new(64);
        let Placement::Newest { pos } = t.place(1, at(1)) else {
            panic!()
        };
        t.mark_seen(1, pos, at(1));
        let Placement::Newest { pos } = t.place(201, at(1)) else {
            panic!()
        };
        let lost = t.mark_seen(201, pos, at(1)) + t.settle_all();
        assert_eq!(lost, 199);
        assert_eq!(t.place(100, at(1)), Placement::Stale);
        assert_eq!(t.place(100, at(10)), Placement::Reset);
        assert_eq!(t.place(201 + (1 << 21), at(1)), Placement::Reset);
    }
}

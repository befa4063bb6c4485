//! systemd service notifications (`Type=notify`): READY, STOPPING, STATUS and watchdog pings.
//!
//! Enters: the daemon's milestones and the process stage's loop ticks. Leaves: datagrams on
//! `$NOTIFY_SOCKET` (through the `sd-notify` crate); nothing at all when it is unset (not run by
//! systemd), and a failed send is ignored (notifications must never stop the pipeline).
//!
//! The watchdog is pinged only from the process stage's loop ([`Watchdog::alive`] in
//! `pipeline::run`), not from a timer of its own: if that loop stops turning (a deadlock, or
//! waiting on sinks longer than `WatchdogSec=`), the pings stop and systemd restarts the daemon,
//! which resumes from its checkpoints.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// How often STATUS= is refreshed with the running counters.
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// Tells systemd that start-up is done (sinks and sources running), with a status line.
pub fn ready(status: &str) {
    let _ = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd that shutdown began (stop reading, flush, checkpoint).
pub fn stopping(status: &str) {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// Sets the one-line status `systemctl status` shows.
pub fn status(status: &str) {
    let _ = sd_notify::notify(false, &[NotifyState::Status(status)]);
}

/// Watchdog pings (`WATCHDOG=1`) at half the interval systemd asked for (`$WATCHDOG_USEC`),
/// and periodic STATUS= lines.
#[derive(Debug)]
pub struct Watchdog {
    /// `None` when systemd set no watchdog for this process.
    every: Option<Duration>,
    last_ping: Option<Instant>,
    last_status: Instant,
}

impl Watchdog {
    /// Reads `$WATCHDOG_USEC` (and `$WATCHDOG_PID`, which must be this process if set).
    pub fn from_env() -> Self {
        let mut usec = 0;
        let enabled = sd_notify::watchdog_enabled(false, &mut usec);
        Watchdog {
            every: (enabled && usec > 0).then(|| Duration::from_micros(usec) / 2),
            last_ping: None,
            last_status: Instant::now(),
        }
    }

    /// Called each time the process stage's loop completes a step: pings when half the
    /// watchdog interval has passed, and refreshes STATUS= with `status()` every few seconds.
    pub fn alive(&mut self, now: Instant, status: impl FnOnce() -> String) {
        if let Some(every) = self.every {
            if self
                .last_ping
                .is_none_or(|t| now.duration_since(t) >= every)
            {
                let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
                self.last_ping = Some(now);
            }
        }
        if now.duration_since(self.last_status) >= STATUS_EVERY {
            self::status(&status());
            self.last_status = now;
        }
    }
}

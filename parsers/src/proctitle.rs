//! PROCTITLE: hex-encoded, NUL-separated argv (truncated by auditd at 128 bytes).

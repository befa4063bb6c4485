//! Sources (stub).

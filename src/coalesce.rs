//! Coalescer (stub).

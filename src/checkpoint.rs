//! Checkpoint store (stub).

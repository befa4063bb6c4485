//! Workload generator (stub).

//! The sinks of auditrail and the one batching/encoding/retry mechanism they share.

//! EXECVE argument vectors, reassembled across the EXECVE records of one event.

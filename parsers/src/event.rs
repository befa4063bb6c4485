//! One audit event, built from the records that share its `(node, serial)`: the typed fields of
//! SYSCALL, EXECVE, CWD, PATH and PROCTITLE merged, everything else kept as generic records.

//! Names for audit architectures and a small table of security-relevant syscall numbers
//! (x86_64, i386 and aarch64). A number missing here simply gets no name; ENRICHED logs carry the
//! host's own names, which take precedence.

/// `arch=` (hex of the `AUDIT_ARCH_*` constant, either case) → its name.
pub fn arch_name(arch: &str) -> Option<&'static str> {
    let name = match arch.to_ascii_lowercase().as_str() {
        "c000003e" => "x86_64",
        "40000003" => "i386",
        "c00000b7" => "aarch64",
        "40000028" => "arm",
        "80000016" => "s390x",
        "c0000015" => "ppc64le",
        "80000015" => "ppc64",
        "c00000f3" => "riscv64",
        _ => return None,
    };
    Some(name)
}

/// The name of syscall `number` on `arch` (an [`arch_name`] result), if in the table.
pub fn syscall_name(arch: &str, number: u64) -> Option<&'static str> {
    let table: &[(u64, &str)] = match arch {
        "x86_64" => X86_64,
        "i386" => I386,
        "aarch64" => AARCH64,
        _ => return None,
    };
    table
        .iter()
        .find(|&&(n, _)| n == number)
        .map(|&(_, name)| name)
}

#[rustfmt::skip]
const X86_64: &[(u64, &str)] = &[
    (0, "read"), (1, "write"), (2, "open"), (3, "close"), (4, "stat"), (9, "mmap"),
    (10, "mprotect"), (21, "access"), (41, "socket"), (42, "connect"), (43, "accept"),
    (44, "sendto"), (45, "recvfrom"), (49, "bind"), (50, "listen"), (56, "clone"), (57, "fork"),
    (58, "vfork"), (59, "execve"), (60, "exit"), (62, "kill"), (76, "truncate"),
    (77, "ftruncate"), (80, "chdir"), (82, "rename"), (83, "mkdir"), (84, "rmdir"),
    (85, "creat"), (86, "link"), (87, "unlink"), (88, "symlink"), (90, "chmod"), (91, "fchmod"),
    (92, "chown"), (93, "fchown"), (94, "lchown"), (101, "ptrace"), (105, "setuid"),
    (106, "setgid"), (112, "setsid"), (113, "setreuid"), (114, "setregid"), (117, "setresuid"),
    (119, "setresgid"), (157, "prctl"), (159, "adjtimex"), (161, "chroot"), (165, "mount"),
    (166, "umount2"), (169, "reboot"), (175, "init_module"), (176, "delete_module"),
    (188, "setxattr"), (200, "tkill"), (231, "exit_group"), (234, "tgkill"), (257, "openat"),
    (258, "mkdirat"), (260, "fchownat"), (263, "unlinkat"), (264, "renameat"), (265, "linkat"),
    (266, "symlinkat"), (268, "fchmodat"), (272, "unshare"), (288, "accept4"),
    (304, "open_by_handle_at"), (308, "setns"), (313, "finit_module"), (316, "renameat2"),
    (322, "execveat"), (425, "io_uring_setup"), (426, "io_uring_enter"), (435, "clone3"),
    (437, "openat2"),
];

#[rustfmt::skip]
const I386: &[(u64, &str)] = &[
    (1, "exit"), (2, "fork"), (3, "read"), (4, "write"), (5, "open"), (6, "close"),
    (11, "execve"), (37, "kill"), (102, "socketcall"), (120, "clone"), (190, "vfork"),
    (295, "openat"), (358, "execveat"), (362, "connect"),
];

#[rustfmt::skip]
const AARCH64: &[(u64, &str)] = &[
    (34, "mkdirat"), (35, "unlinkat"), (38, "renameat"), (40, "mount"), (53, "fchmodat"),
    (54, "fchownat"), (56, "openat"), (57, "close"), (63, "read"), (64, "write"),
    (105, "init_module"), (117, "ptrace"), (129, "kill"), (198, "socket"), (200, "bind"),
    (201, "listen"), (202, "accept"), (203, "connect"), (220, "clone"), (221, "execve"),
    (242, "accept4"), (273, "finit_module"), (276, "renameat2"), (281, "execveat"),
    (435, "clone3"), (437, "openat2"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_syscalls() {
        assert_eq!(arch_name("c000003e"), Some("x86_64"));
        assert_eq!(arch_name("C00000B7"), Some("aarch64"));
        assert_eq!(arch_name("deadbeef"), None);
        assert_eq!(syscall_name("x86_64", 59), Some("execve"));
        assert_eq!(syscall_name("x86_64", 322), Some("execveat"));
        assert_eq!(syscall_name("x86_64", 42), Some("connect"));
        assert_eq!(syscall_name("x86_64", 257), Some("openat"));
        assert_eq!(syscall_name("aarch64", 221), Some("execve"));
        assert_eq!(syscall_name("i386", 11), Some("execve"));
        assert_eq!(syscall_name("x86_64", 9999), None);
        assert_eq!(syscall_name("mips", 59), None);
    }

    #[test]
    fn tables_have_unique_numbers_and_names() {
        for table in [X86_64, I386, AARCH64] {
            for (i, (n, name)) in table.iter().enumerate() {
                assert!(table[i + 1..]
                    .iter()
                    .all(|(m, other)| m != n && other != name));
            }
        }
    }
}

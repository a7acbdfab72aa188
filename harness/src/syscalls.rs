//! x86-64 system call names for the calls the scenarios care about (from the kernel's
//! arch/x86/entry/syscalls/syscall_64.tbl).

const TABLE: &[(i64, &str)] = &[
    (0, "read"),
    (1, "write"),
    (2, "open"),
    (7, "poll"),
    (9, "mmap"),
    (10, "mprotect"),
    (11, "munmap"),
    (12, "brk"),
    (17, "pread64"),
    (18, "pwrite64"),
    (20, "writev"),
    (23, "select"),
    (25, "mremap"),
    (28, "madvise"),
    (35, "nanosleep"),
    (56, "clone"),
    (57, "fork"),
    (59, "execve"),
    (60, "exit"),
    (61, "wait4"),
    (62, "kill"),
    (72, "fcntl"),
    (74, "fsync"),
    (75, "fdatasync"),
    (76, "truncate"),
    (77, "ftruncate"),
    (82, "rename"),
    (83, "mkdir"),
    (87, "unlink"),
    (149, "mlock"),
    (150, "munlock"),
    (151, "mlockall"),
    (152, "munlockall"),
    (202, "futex"),
    (230, "clock_nanosleep"),
    (231, "exit_group"),
    (257, "openat"),
    (293, "pipe2"),
    (325, "mlock2"),
    (435, "clone3"),
];

/// The name of system call `nr`, or the number as text.
pub fn name(nr: i64) -> String {
    TABLE
        .iter()
        .find(|(n, _)| *n == nr)
        .map_or_else(|| nr.to_string(), |(_, s)| s.to_string())
}

/// Whether `name` is a call this table knows (scenario files are checked against it).
pub fn known(name: &str) -> bool {
    TABLE.iter().any(|(_, s)| *s == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_known_calls_and_numbers_the_rest() {
        assert_eq!(super::name(9), "mmap");
        assert_eq!(super::name(74), "fsync");
        assert_eq!(super::name(999), "999");
        assert!(super::known("munmap"));
        assert!(!super::known("frobnicate"));
    }
}

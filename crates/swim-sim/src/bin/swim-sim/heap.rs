//! The simulator's heap, set up for runs of thousands of members: glibc's allocator, told
//! through its tunables (which it reads only when a process starts, hence the restart).
//! None of it is visible to the run's figures.
//!
//! - `glibc.malloc.mmap_threshold=65536`: a block of 64 KiB or more (a member's table, a
//!   full member list in flight) is mapped when allocated and unmapped when freed. glibc
//!   otherwise raises that threshold each time such a block is freed, after which the lists
//!   in flight (at 10,000 members, hundreds of 0.5 MB lists, each held until the simulated
//!   TCP delivers it) come from the heap, and the holes they leave among long-lived blocks
//!   stay resident. Each list is then faulted in afresh: more system time, less memory.
//! - `glibc.malloc.hugetlb=1`: the heap is advised transparent huge pages (on hosts where
//!   THP is `madvise`). Each record a member applies touches its own table at random, and
//!   with 4 KiB pages over gigabytes of tables most touches missed the TLB.

/// The variable glibc reads its tunables from.
const VARIABLE: &str = "GLIBC_TUNABLES";

/// The tunables a large run wants (see the module's documentation).
const TUNABLES: &str = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=65536";

/// Restarts this process (same arguments, same process id) with [`TUNABLES`] unless
/// `GLIBC_TUNABLES` is set: set by the restart itself, or by the user, whose own choice
/// stands (`GLIBC_TUNABLES=` turns this off, e.g. under valgrind). Returns when it does not
/// restart: tunables set, not Linux with glibc, or the restart failed (the run goes on with
/// the default heap).
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;

        if std::env::var_os(VARIABLE).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` returns only if it failed.
        let _failed = command.args(args).env(VARIABLE, TUNABLES).exec();
    }
}

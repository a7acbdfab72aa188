//! Errors the CLI reports: one line each, and an exit code by kind.

/// Documented exit codes (README, "Exit codes").
pub mod exit {
    /// Every requested run produced a record of a kernel outcome.
    pub const OK: u8 = 0;
    /// The harness itself failed.
    pub const INTERNAL: u8 = 1;
    /// `compare --fail-on-regression`: a kernel is worse than the baseline (the report
    /// is written first). Its own code, so CI can tell a regression from a broken run.
    pub const REGRESSION: u8 = 4;
    /// Bad input: unknown scenario or kernel, unwritable --out, bad --set, ...
    pub const USAGE: u8 = 2;
    /// Records were written, but at least one run ended as `boot_failure` or `error`:
    /// its result says more about the setup than about the kernel.
    pub const RUN_FAILED: u8 = 3;
}

#[derive(Debug)]
pub enum CliError {
    Usage(String),
    Internal(String),
    Interrupted(u8),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Internal(_) => exit::INTERNAL,
            CliError::Interrupted(code) => *code,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Internal(m) => f.write_str(m),
            CliError::Interrupted(code) => write!(
                f,
                "interrupted (exit {code}); no record was written for the unfinished run"
            ),
        }
    }
}

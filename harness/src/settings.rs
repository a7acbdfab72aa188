//! `--set key=value`: sysctls applied in the guest before pressure starts.
//!
//! Checked here before any guest boots (name and value in a safe character set), and
//! again in the guest, where the agent writes each one and reads it back.

use std::collections::BTreeMap;

/// Defaults every run gets unless overridden, each written and read back in the guest
/// so the record shows what was in force:
/// - `kernel.printk`: the console log level is raised after a `quiet` boot so OOM
///   reports, task dumps and reaper lines reach the console;
/// - `vm.oom_dump_tasks`: task dumps on (the kernel default), stated so it is recorded;
/// - `kernel.sysrq`: all sysrq functions, so the harness can dump tasks and memory of a
///   livelocked guest (Debian's default mask leaves the dump keys off);
/// - `kernel.hung_task_timeout_secs`: 30 s, below the livelock window (see
///   docs/verdicts.md, "Watchdog order").
pub fn defaults() -> BTreeMap<String, String> {
    [
        ("kernel.printk", "7 4 1 7"),
        ("vm.oom_dump_tasks", "1"),
        ("kernel.sysrq", "1"),
        ("kernel.hung_task_timeout_secs", "30"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Parse one `--set` argument.
pub fn parse(arg: &str) -> Result<(String, String), String> {
    let (key, value) = arg.split_once('=').ok_or_else(|| {
        format!("--set {arg:?}: expected key=value, e.g. --set vm.oom_dump_tasks=0")
    })?;
    let (key, value) = (key.trim(), value.trim());
    let key_ok = (key.starts_with("vm.") || key.starts_with("kernel."))
        && key.len() > key.find('.').unwrap_or(0) + 1
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && !key.contains("..");
    if !key_ok {
        return Err(format!(
            "--set {arg:?}: {key:?} is not a sysctl oomlab can set; use a vm.* or kernel.* name such as vm.overcommit_memory"
        ));
    }
    let value_ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | ','));
    if !value_ok {
        return Err(format!(
            "--set {arg:?}: value {value:?} must be 1-64 characters of letters, digits, space, '_', '-', '.', ','"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Defaults overlaid with the user's settings.
pub fn resolve(args: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut all = defaults();
    for a in args {
        let (k, v) = parse(a)?;
        all.insert(k, v);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sysctls_and_rejects_the_rest() {
        assert_eq!(
            parse("vm.oom_dump_tasks=0").unwrap(),
            ("vm.oom_dump_tasks".into(), "0".into())
        );
        assert!(parse("vm.oom_dump_tasks")
            .unwrap_err()
            .contains("key=value"));
        assert!(parse("net.ipv4.ip_forward=1").unwrap_err().contains("vm.*"));
        assert!(parse("vm.=1").is_err());
        assert!(parse("vm.x=$(reboot)").unwrap_err().contains("must be"));
        assert!(parse("vm/../x=1").is_err());
    }

    #[test]
    fn user_settings_override_defaults() {
        let s = resolve(&["kernel.printk=4 4 1 7".into()]).unwrap();
        assert_eq!(s["kernel.printk"], "4 4 1 7");
    }
}

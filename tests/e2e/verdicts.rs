//! Known outcomes: deterministic ones on one run each, against real guests.

use crate::common::*;
use serde_json::Value;

fn actions(r: &Value) -> Vec<String> {
    r["harness_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["what"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn panic_on_oom_is_a_panic_found_in_the_console() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &["--kernel", "debian:6.1", "--set", "vm.panic_on_oom=1"],
    );
    assert_eq!(r["outcome"], "panic", "{r}");
    assert!(
        r["outcome_reason"]
            .as_str()
            .unwrap()
            .contains("panic_on_oom"),
        "{r}"
    );
    let setting = r["setup"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sysctl vm.panic_on_oom")
        .cloned();
    assert_eq!(
        setting.map(|c| c["ok"].clone()),
        Some(Value::Bool(true)),
        "{r}"
    );
}

/// sysfs settings are written in the guest and read back: the record names each with
/// what the kernel showed, and a run where one did not take would be an error.
#[test]
fn mglru_thp_and_swap_settings_are_applied_and_read_back_on_6_1() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.1",
            "--set",
            "mglru=on",
            "--set",
            "thp=never",
            "--set",
            "thp.defrag=defer",
            "--set",
            "swap=disk:64M",
        ],
    );
    assert_ne!(r["outcome"], "error", "{}", r["outcome_reason"]);
    for (key, value) in [
        ("mglru", "on"),
        ("thp", "never"),
        ("thp.defrag", "defer"),
        ("swap", "disk:64M"),
    ] {
        assert_eq!(r["settings"][key], value, "{}", r["settings"]);
    }
    let check = |name: &str| setup_check(&r, name);
    for name in ["sysfs mglru", "sysfs thp", "sysfs thp.defrag"] {
        assert_eq!(check(name)["ok"], true, "{}", check(name));
    }
    let thp = check("sysfs thp")["detail"].to_string();
    assert!(thp.contains("read back always madvise [never]"), "{thp}");
    // No scratch disk, so the swap disk is the first virtio disk; 64 MiB less the
    // header page, in KiB.
    let swap = check("swap on /dev/vda");
    assert_eq!(swap["ok"], true, "{swap}");
    assert!(
        swap["detail"]
            .to_string()
            .contains("/dev/vda partition 65532"),
        "{swap}"
    );
}

#[test]
fn zram_swap_and_kernel_parameters_take_effect_on_6_12() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.12",
            "--set",
            "swap=zram:25%",
            "--set",
            "cmdline.init_on_free=1",
            "--set",
            "cmdline.numa_balancing=disable",
        ],
    );
    assert_ne!(r["outcome"], "error", "{}", r["outcome_reason"]);
    assert_eq!(r["settings"]["swap"], "zram:25%");
    let swap = setup_check(&r, "swap on /dev/zram0");
    // 25% of the 256 MiB guest, less the header page.
    assert!(
        swap["detail"]
            .to_string()
            .contains("/dev/zram0 partition 65532"),
        "{swap}"
    );
    assert_eq!(setup_check(&r, "module zram")["ok"], true);
    for p in ["init_on_free=1", "numa_balancing=disable"] {
        let c = setup_check(&r, &format!("cmdline {p}"));
        assert_eq!(c["ok"], true, "{c}");
        assert!(
            r["guest"]["cmdline"].as_str().unwrap().contains(p),
            "{}",
            r["guest"]
        );
    }
    assert_eq!(r["settings"]["cmdline.init_on_free"], "1");
}

#[test]
fn a_silent_guest_is_hung_with_its_registers_saved() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.12",
            "--inject",
            "freeze-agent:3000",
            "--silence-timeout",
            "8",
        ],
    );
    assert_eq!(r["outcome"], "hung", "{r}");
    let dir = out.path().join(r["artifacts"]["dir"].as_str().unwrap());
    let regs = std::fs::read_to_string(dir.join("registers.txt")).expect("registers.txt");
    assert!(regs.contains("RIP="), "{regs}");
    assert!(actions(&r).iter().any(|a| a.contains("registers")), "{r}");
    // Bounded: silence limit plus boot and teardown, far below the 120 s run limit.
    assert!(r["wall_ms"].as_u64().unwrap() < 90_000, "{r}");
}

#[test]
fn a_starved_guest_is_a_livelock_with_sysrq_dumps() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.12",
            "--inject",
            "stall-probe:1000",
            "--livelock-window",
            "8",
            "--sysrq-f",
            "--settle-ms",
            "60000",
        ],
    );
    assert_eq!(r["outcome"], "livelock", "{r}");
    let acts = actions(&r);
    for key in ["sysrq-m", "sysrq-w", "sysrq-t", "sysrq-f"] {
        assert!(
            acts.iter().any(|a| a.starts_with(&format!("sent {key}"))),
            "{key} missing: {acts:?}"
        );
    }
    // The dumps really happened in the guest: the kernel's own lines are in the console.
    let console = artifact(out.path(), &r, "console");
    for line in [
        "sysrq: Show Memory",
        "sysrq: Show Blocked State",
        "sysrq: Show State",
        "sysrq: Manual OOM execution",
    ] {
        assert!(console.contains(line), "console lacks {line:?}");
    }
    // The stalled probe never comes back, so sysrq-f cannot bring recovery.
    assert!(
        r["outcome_reason"]
            .as_str()
            .unwrap()
            .contains("still starved"),
        "{r}"
    );
}

#[test]
fn oom_kill_allocating_task_kills_the_allocating_bystander() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.1",
            "--scenario",
            "idle-hog",
            "--set",
            "vm.oom_kill_allocating_task=1",
        ],
    );
    assert!(kill_roles(&r).iter().any(|role| role == "bystander"), "{r}");
    assert!(r["wrong_victim_kills"].as_u64().unwrap() >= 1, "{r}");
    let console = artifact(out.path(), &r, "console");
    assert!(
        console.contains("Out of memory (oom_kill_allocating_task)"),
        "the kernel did not use the sysctl"
    );
}

#[test]
fn an_idle_hog_is_the_victim_without_the_sysctl() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &["--kernel", "debian:6.12", "--scenario", "idle-hog"],
    );
    assert_eq!(r["outcome"], "recovered", "{r}");
    assert!(kill_roles(&r).iter().all(|role| role == "hog"), "{r}");
}

#[test]
fn an_unkillable_hog_leaves_only_the_bystander_then_nothing() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &["--kernel", "debian:6.12", "--scenario", "protected-hog"],
    );
    let roles = kill_roles(&r);
    assert!(
        !roles.is_empty() && roles.iter().all(|role| role == "bystander"),
        "{r}"
    );
    assert_eq!(r["wrong_victim_kills"].as_u64(), Some(roles.len() as u64));
    // ... and that is the kernel following its own rules: the hog at -1000 is no candidate.
    assert_eq!(r["heuristic_mismatch"], false, "{r}");
    // With only unkillable tasks left the kernel panics: "no killable processes".
    assert_eq!(r["outcome"], "panic", "{r}");
    assert_eq!(r["kernel_reports"]["oom_no_killable"], true, "{r}");
}

#[test]
fn a_memcg_oom_kill_is_marked_with_its_cgroup() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &["--kernel", "debian:6.1", "--scenario", "memcg-oom"],
    );
    assert_eq!(r["outcome"], "recovered", "{r}");
    assert_evidence(&r, "the hog is in memory cgroup /oomlab-hog");
    every_kill_is_the_hog_in(&r, "/oomlab-hog");
    assert_eq!(
        setup_check(&r, "cgroup oomlab-hog memory.max")["ok"],
        true,
        "{r}"
    );
}

/// At least one kill, and each of the hog in `memcg`: a memcg OOM that stayed inside it.
fn every_kill_is_the_hog_in(r: &Value, memcg: &str) {
    let kills = r["kills"].as_array().unwrap();
    assert!(!kills.is_empty(), "{r}");
    for k in kills {
        assert_eq!(k["memcg"], memcg, "{r}");
        assert_eq!(k["role"], "hog", "{r}");
    }
}

#[test]
fn a_role_cgroup_limit_from_set_turns_usemem_into_a_memcg_oom_on_6_12() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.12",
            "--scenario",
            "usemem",
            "--set",
            "cgroup.hog.memory.max=30%",
            "--set",
            "cgroup.hog.memory.oom.group=1",
        ],
    );
    assert_eq!(r["outcome"], "recovered", "{r}");
    assert_eq!(r["settings"]["cgroup.hog.memory.max"], "30%", "{r}");
    assert_eq!(r["settings"]["cgroup.hog.memory.oom.group"], "1", "{r}");
    for check in [
        "cgroup oomlab-role-hog memory.max",
        "cgroup oomlab-role-hog memory.oom.group",
    ] {
        assert_eq!(setup_check(&r, check)["ok"], true, "{check}: {r}");
    }
    // Only the hog's group hits its limit: the bystander outside is not touched.
    every_kill_is_the_hog_in(&r, "/oomlab-role-hog");
}

#[test]
fn a_herd_at_adj_1000_is_killed_member_by_member_before_the_hog() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.12",
            "--scenario",
            "oom-adj-herd-idle",
            "--timeout",
            "150",
        ],
    );
    assert_evidence(
        &r,
        "at least 1 expendable process(es) outrank every hog by oom_score",
    );
    let roles = kill_roles(&r);
    // Every victim is traced to a role through its cgroup: none is unknown.
    assert!(
        roles
            .iter()
            .all(|role| role == "expendable" || role == "hog"),
        "{r}"
    );
    assert_eq!(r["wrong_victim_kills"], 0, "{r}");
    // At oom_score_adj 1000 every herd member outranks the hog: the herd goes first.
    assert_eq!(roles[0], "expendable", "{r}");
    let first_hog = roles.iter().position(|role| role == "hog");
    let herd_kills = roles.iter().filter(|role| *role == "expendable").count();
    assert!(herd_kills >= 100, "{herd_kills} herd kills: {r}");
    // Each checked kill (the task dump is rate-limited) followed the kernel's ranking,
    // and the record says how many candidates stood ahead of the hog.
    assert_eq!(r["heuristic_mismatch"], false, "{r}");
    assert!(r["candidates_ahead_of_hog"].as_u64().is_some(), "{r}");
    if let Some(h) = first_hog {
        assert!(h >= 100, "hog killed after only {h} herd members: {r}");
    }
    assert!(
        ["recovered", "unrecovered"].contains(&r["outcome"].as_str().unwrap()),
        "{r}"
    );
    assert!(
        r["kill_stats"]["kill_interval_ms"]["p50"]
            .as_u64()
            .is_some(),
        "{r}"
    );
}

/// The slow-motion OOM: herd members busy in the filesystem die slowly, so the killer
/// takes one per oom_reaper delay and never reaches the hog within the window.
fn herd_on_a_disk_is_unrecovered(kernel: &str) {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            kernel,
            "--scenario",
            "oom-adj-herd",
            "--timeout",
            "120",
        ],
    );
    assert_eq!(r["outcome"], "unrecovered", "{r}");
    let setup = r["setup"].as_array().unwrap();
    let mount = setup
        .iter()
        .find(|c| c["name"] == "mount /dev/vda on /scratch")
        .expect("mount check");
    assert_eq!(mount["ok"], true, "{r}");
    assert!(
        kill_roles(&r).iter().all(|role| role == "expendable"),
        "{r}"
    );
    let pace = r["kill_stats"]["kill_interval_ms"]["p50"].as_u64().unwrap();
    assert!(
        pace >= 1500,
        "median kill interval {pace} ms: not the reaper-paced storm"
    );
    assert!(r["candidates_ahead_of_hog"].as_u64().unwrap() >= 100, "{r}");
    assert_eq!(r["time_to_recovery_ms"], Value::Null, "{r}");
}

#[test]
fn a_herd_on_a_disk_is_unrecovered_on_6_1() {
    herd_on_a_disk_is_unrecovered("debian:6.1");
}

#[test]
fn a_herd_on_a_disk_is_unrecovered_on_6_12() {
    herd_on_a_disk_is_unrecovered("debian:6.12");
}

#[test]
fn a_missing_scratch_disk_is_a_setup_error_not_a_kernel_result() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &[
            "--kernel",
            "debian:6.1",
            "--scenario",
            "oom-adj-herd",
            "--inject",
            "detach-scratch-disk",
        ],
    );
    assert_eq!(r["outcome"], "error", "{r}");
    let reason = r["outcome_reason"].as_str().unwrap();
    assert!(reason.contains("mount /dev/vda on /scratch"), "{reason}");
    assert!(
        r["kills"].as_array().unwrap().is_empty(),
        "no pressure may start: {r}"
    );
}

/// cgroup v1 memory: 6.1 has it and kills the hog in its v1 group; Debian's 6.12 is
/// built without CONFIG_MEMCG_V1, so the run is a setup error naming the controller,
/// with the failed check in the record, not a kernel result.
#[test]
fn a_cgroup_v1_memcg_oom_on_6_1() {
    let out = tempfile::tempdir().unwrap();
    let r = run_one(
        out.path(),
        &["--kernel", "debian:6.1", "--scenario", "memcg-v1-oom"],
    );
    assert_eq!(r["outcome"], "recovered", "{r}");
    assert_eq!(kill_roles(&r), ["hog"]);
    assert_eq!(r["kills"][0]["memcg"], "/oomlab-hog", "{r}");
}

#[test]
fn a_cgroup_v1_controller_the_kernel_lacks_is_a_setup_error_on_6_12() {
    let out = tempfile::tempdir().unwrap();
    let o = run_bounded(
        oomlab()
            .args([
                "run",
                "--accel",
                "tcg",
                "--kernel",
                "debian:6.12",
                "--scenario",
                "memcg-v1-oom",
                "--out",
            ])
            .arg(out.path()),
        std::time::Duration::from_secs(300),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = &records(out.path())[0];
    assert_eq!(r["outcome"], "error", "{r}");
    let reason = r["outcome_reason"].as_str().unwrap();
    assert!(reason.contains("cgroup v1 memory controller"), "{reason}");
    let failed: Vec<&Value> = r["setup"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{r}");
    assert_eq!(failed[0]["name"], "cgroup v1 memory controller");
    assert!(r["kills"].as_array().unwrap().is_empty());
}

/// The same herd without its advantage recovers. At adj 0 the hog is the top candidate
/// and goes first. With vm.oom_kill_allocating_task=1 the task that is allocating (the
/// hog, or a member appending on the disk) is taken at once, with no storm: seen 9 kills
/// on 6.1 and 3 on 6.12, against 47-58 in the same window at adj 1000.
/// A storm goes through the 400-member herd; with the sysctl the allocating task is
/// taken and the guest recovers after a few kills: 9 (6.1), and 3 and 20 (6.12) seen.
const NO_STORM_KILLS: usize = 100;

fn herd_variant(kernel: &str, extra: &[&str]) -> Value {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--kernel",
        kernel,
        "--scenario",
        "oom-adj-herd",
        "--timeout",
        "120",
    ];
    args.extend(extra);
    let r = run_one(out.path(), &args);
    assert_eq!(r["outcome"], "recovered", "{r}");
    r
}

#[test]
fn a_herd_at_adj_0_loses_the_hog_first_on_6_1() {
    let r = herd_variant("debian:6.1", &["--param", "herd.adj=0"]);
    assert_eq!(
        kill_roles(&r).first().map(String::as_str),
        Some("hog"),
        "{r}"
    );
}

#[test]
fn a_herd_at_adj_0_loses_the_hog_first_on_6_12() {
    let r = herd_variant("debian:6.12", &["--param", "herd.adj=0"]);
    assert_eq!(
        kill_roles(&r).first().map(String::as_str),
        Some("hog"),
        "{r}"
    );
}

#[test]
fn a_herd_with_oom_kill_allocating_task_has_no_storm_on_6_1() {
    let r = herd_variant("debian:6.1", &["--set", "vm.oom_kill_allocating_task=1"]);
    assert!(kill_roles(&r).len() < NO_STORM_KILLS, "{r}");
}

#[test]
fn a_herd_with_oom_kill_allocating_task_has_no_storm_on_6_12() {
    let r = herd_variant("debian:6.12", &["--set", "vm.oom_kill_allocating_task=1"]);
    assert!(kill_roles(&r).len() < NO_STORM_KILLS, "{r}");
}

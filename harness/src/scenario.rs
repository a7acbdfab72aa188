//! Built-in scenarios: which processes a run starts, with which roles.
//!
//! Sizes are relative to guest RAM (usemem reads MemTotal in the guest), so a scenario
//! works at any `--memory`.

use oomlab_workloads::spec::{ProcessSpec, Role};

pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    build: fn() -> Vec<ProcessSpec>,
}

impl Scenario {
    pub fn processes(&self) -> Vec<ProcessSpec> {
        (self.build)()
    }
}

fn process(name: &str, role: Role, argv: &[&str]) -> ProcessSpec {
    ProcessSpec {
        name: name.to_string(),
        role,
        argv: argv.iter().map(|s| s.to_string()).collect(),
        oom_score_adj: 0,
        start_delay_ms: 0,
    }
}

/// Guest path of the usemem binary.
pub const USEMEM: &str = "/bin/usemem";

pub const CATALOG: &[Scenario] = &[Scenario {
    name: "usemem",
    description: "one hog touching 150% of guest RAM beside a small bystander holding 8 MiB",
    build: || {
        vec![
            process(
                "bystander",
                Role::Bystander,
                &[USEMEM, "--mib", "8", "--hold", "forever"],
            ),
            ProcessSpec {
                // Give the bystander a moment to map its memory first.
                start_delay_ms: 200,
                ..process(
                    "hog",
                    Role::Hog,
                    &[USEMEM, "--percent", "150", "--hold", "forever"],
                )
            },
        ]
    },
}];

pub fn find(name: &str) -> Result<&'static Scenario, String> {
    CATALOG.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = CATALOG.iter().map(|s| s.name).collect();
        format!(
            "unknown scenario {name:?}; known scenarios: {} (see `oomlab scenarios list`)",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usemem_has_one_hog_and_a_bystander() {
        let p = find("usemem").unwrap().processes();
        assert_eq!(p.iter().filter(|p| p.role == Role::Hog).count(), 1);
        assert!(p.iter().any(|p| p.role == Role::Bystander));
    }

    #[test]
    fn unknown_scenarios_name_the_known_ones() {
        let e = find("nope").err().unwrap();
        assert!(e.contains("usemem"), "{e}");
    }
}

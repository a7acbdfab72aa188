//! cc-sim: a simulated compiler job, and the source tree and Makefile it is run from.
//!
//! `cc-sim --in SRC --out OBJ [--peak-mib N=24 | --peak-permille P] [--ms M=200]`: reads
//! SRC, builds a working set of N MiB, or P thousandths of RAM so it scales with the
//! guest (touched, as a compiler's heap would be), spends about M ms,
//! writes OBJ (its input repeated) and exits. A real compiler is not in the guest: what
//! matters for the OOM killer is many short-lived jobs with a realistic memory peak.
//!
//! `cc-sim --make-tree DIR --units U [--peak-mib N] [--ms M] [--then-exec MAKE ARGS...]`:
//! writes DIR/src/unit-I.c (small inputs) and DIR/Makefile with one rule per unit that
//! runs cc-sim (no shell metacharacters, so GNU make execs it directly: the guest has no
//! /bin/sh), then, with --then-exec, replaces itself with the given make command. This
//! is the 2002 `make -j0 bzImage` beside `usemem` on a small machine, without a kernel
//! tree.

use oomlab_workloads::guest::{self, Flags, Mapping, MIB};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cc-sim --in SRC --out OBJ [--peak-mib N | --peak-permille P] [--ms M] | cc-sim --make-tree DIR --units U [--peak-mib N | --peak-permille P] [--ms M] [--then-exec MAKE ARGS...]";
/// Guest path of this binary, as the Makefile names it.
const SELF: &str = "/bin/cc-sim";

#[derive(Debug, PartialEq)]
enum Mode {
    Compile {
        input: String,
        output: String,
    },
    Tree {
        dir: String,
        units: u32,
        exec: Vec<String>,
    },
}

/// A job's peak: fixed, or a share of RAM (resolved in the guest, per job).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Peak {
    Mib(usize),
    Permille(u64),
}

impl Peak {
    fn flag(self) -> String {
        match self {
            Peak::Mib(n) => format!("--peak-mib {n}"),
            Peak::Permille(p) => format!("--peak-permille {p}"),
        }
    }

    fn bytes(self) -> usize {
        match self {
            Peak::Mib(n) => n.max(1) * MIB,
            Peak::Permille(p) => {
                let total = guest::mem_total_kb().unwrap_or(256 * 1024);
                ((total * p / 1000) as usize * 1024).max(MIB)
            }
        }
    }
}

#[derive(Debug, PartialEq)]
struct Args {
    mode: Mode,
    peak: Peak,
    ms: u64,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut input, mut output, mut dir, mut units) = (None, None, None, None);
    let (mut peak, mut ms) = (Peak::Mib(24), 200);
    let mut exec = Vec::new();
    let mut f = Flags::new(args, USAGE);
    while let Some(flag) = f.next_flag() {
        match flag {
            "--in" => input = Some(f.value(flag)?.to_string()),
            "--out" => output = Some(f.value(flag)?.to_string()),
            "--make-tree" => dir = Some(f.value(flag)?.to_string()),
            "--units" => units = Some(f.number(flag)?),
            "--peak-mib" => peak = Peak::Mib(f.number(flag)?),
            "--peak-permille" => peak = Peak::Permille(f.number(flag)?),
            "--ms" => ms = f.number(flag)?,
            "--then-exec" => {
                // Everything after it is the command.
                let at = args.iter().position(|a| a == "--then-exec").unwrap_or(0);
                exec = args[at + 1..].to_vec();
                if exec.is_empty() {
                    return Err(f.error("--then-exec needs a command"));
                }
                break;
            }
            other => return Err(f.unknown(other)),
        }
    }
    let mode = match (input, output, dir, units) {
        (Some(input), Some(output), None, None) => Mode::Compile { input, output },
        (None, None, Some(dir), Some(units)) if units > 0 => Mode::Tree { dir, units, exec },
        _ => return Err(f.error("give --in and --out, or --make-tree and --units (at least 1)")),
    };
    Ok(Args { mode, peak, ms })
}

/// The Makefile: `all` depends on every object; each object is one cc-sim run.
fn makefile(units: u32, peak: Peak, ms: u64) -> String {
    let mut m = String::from("all:");
    for i in 0..units {
        m.push_str(&format!(" obj/unit-{i}.o"));
    }
    m.push_str("\n\n");
    for i in 0..units {
        m.push_str(&format!(
            "obj/unit-{i}.o: src/unit-{i}.c\n\t{SELF} --in src/unit-{i}.c --out obj/unit-{i}.o {} --ms {ms}\n\n",
            peak.flag()
        ));
    }
    m
}

fn make_tree(dir: &str, units: u32, peak: Peak, ms: u64) -> std::io::Result<()> {
    let root = std::path::Path::new(dir);
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::create_dir_all(root.join("obj"))?;
    for i in 0..units {
        let body =
            format!("/* unit {i} */\nint unit_{i}(int x) {{ return x * {i}; }}\n").repeat(64);
        std::fs::write(root.join(format!("src/unit-{i}.c")), body)?;
    }
    std::fs::write(root.join("Makefile"), makefile(units, peak, ms))
}

fn compile(input: &str, output: &str, peak: Peak, ms: u64) -> Result<(), String> {
    let start = Instant::now();
    let source = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let heap = Mapping::anon(peak.bytes(), 0).map_err(|e| format!("mmap: {e}"))?;
    heap.touch(1);
    // The rest of the job's time, as a compiler would spend it with its heap live.
    if let Some(left) = Duration::from_millis(ms).checked_sub(start.elapsed()) {
        std::thread::sleep(left);
    }
    std::fs::write(output, source.repeat(2)).map_err(|e| format!("{output}: {e}"))
}

fn main() -> ExitCode {
    let args = guest::parse_or_exit("cc-sim", parse);
    match args.mode {
        Mode::Compile { input, output } => match compile(&input, &output, args.peak, args.ms) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cc-sim: {e}");
                ExitCode::FAILURE
            }
        },
        Mode::Tree { dir, units, exec } => {
            if let Err(e) = make_tree(&dir, units, args.peak, args.ms) {
                eprintln!("cc-sim: cannot write the tree in {dir}: {e}");
                return ExitCode::FAILURE;
            }
            println!("cc-sim: {units} units in {dir}");
            if let Some((program, rest)) = exec.split_first() {
                let err = std::process::Command::new(program)
                    .args(rest)
                    .current_dir(&dir)
                    .exec();
                eprintln!("cc-sim: cannot exec {program}: {err}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_both_modes() {
        let a = parse(&argv("--in a.c --out a.o --peak-mib 8 --ms 5")).unwrap();
        assert_eq!(
            a.mode,
            Mode::Compile {
                input: "a.c".into(),
                output: "a.o".into()
            }
        );
        assert_eq!((a.peak, a.ms), (Peak::Mib(8), 5));
        let p = parse(&argv("--in a.c --out a.o --peak-permille 90")).unwrap();
        assert_eq!(p.peak, Peak::Permille(90));
        let t = parse(&argv("--make-tree /s/b --units 3 --then-exec /bin/make -j")).unwrap();
        assert_eq!(
            t.mode,
            Mode::Tree {
                dir: "/s/b".into(),
                units: 3,
                exec: argv("/bin/make -j")
            }
        );
        assert!(parse(&argv("--in a.c")).is_err());
        assert!(parse(&argv("--make-tree d --units 0")).is_err());
        assert!(parse(&argv("--make-tree d --units 2 --then-exec")).is_err());
    }

    #[test]
    fn the_makefile_needs_no_shell() {
        let m = makefile(2, Peak::Mib(4), 10);
        assert!(m.starts_with("all: obj/unit-0.o obj/unit-1.o\n"));
        assert!(m.contains("obj/unit-1.o: src/unit-1.c\n\t/bin/cc-sim --in src/unit-1.c --out obj/unit-1.o --peak-mib 4 --ms 10\n"));
        // GNU make runs a recipe without /bin/sh only when it has none of these.
        let recipes: Vec<&str> = m.lines().filter(|l| l.starts_with('\t')).collect();
        assert_eq!(recipes.len(), 2);
        assert!(recipes
            .iter()
            .all(|r| !r.contains(|c| ";|&<>$*?`'\"\\(){}[]~#=%".contains(c))));
    }

    #[test]
    fn a_tree_is_written_and_a_job_compiles() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        make_tree(d, 3, Peak::Mib(1), 0).unwrap();
        assert!(dir.path().join("Makefile").is_file());
        let src = dir.path().join("src/unit-2.c");
        let obj = dir.path().join("obj/unit-2.o");
        compile(
            src.to_str().unwrap(),
            obj.to_str().unwrap(),
            Peak::Mib(1),
            0,
        )
        .unwrap();
        assert_eq!(
            makefile(1, Peak::Permille(90), 0)
                .matches("--peak-permille 90")
                .count(),
            1
        );
        assert_eq!(
            std::fs::read(&obj).unwrap().len(),
            2 * std::fs::read(&src).unwrap().len()
        );
    }
}

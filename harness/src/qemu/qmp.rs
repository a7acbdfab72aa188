//! A minimal QMP client over QEMU's stdin/stdout, every call bounded in time.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub struct Qmp {
    stdin: ChildStdin,
    rx: Receiver<Value>,
    /// Asynchronous events seen so far (SHUTDOWN, RESET, ...), by name.
    pub events: Vec<String>,
}

impl Qmp {
    /// Start reading QEMU's stdout on a thread of its own (so a silent QEMU never blocks
    /// the harness) and negotiate capabilities.
    pub fn connect(
        stdin: ChildStdin,
        stdout: ChildStdout,
        timeout: Duration,
    ) -> Result<Qmp, String> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("qmp-reader".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start QMP reader: {e}"))?;
        let mut qmp = Qmp {
            stdin,
            rx,
            events: Vec::new(),
        };
        let deadline = Instant::now() + timeout;
        loop {
            let v = qmp.recv_until(deadline)?;
            if v.get("QMP").is_some() {
                break;
            }
        }
        qmp.execute("qmp_capabilities", None, timeout)?;
        Ok(qmp)
    }

    fn recv_until(&mut self, deadline: Instant) -> Result<Value, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => Ok(v),
            Err(RecvTimeoutError::Timeout) => Err("QMP did not answer in time".into()),
            Err(RecvTimeoutError::Disconnected) => Err("QMP connection closed".into()),
        }
    }

    /// Run one command and wait (bounded) for its reply; events arriving meanwhile are kept.
    pub fn execute(
        &mut self,
        cmd: &str,
        args: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, String> {
        let mut msg = json!({ "execute": cmd });
        if let Some(a) = args {
            msg["arguments"] = a;
        }
        writeln!(self.stdin, "{msg}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| format!("QMP write failed: {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.recv_until(deadline)?;
            if let Some(name) = v.get("event").and_then(Value::as_str) {
                self.events.push(name.to_string());
                continue;
            }
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(format!("QMP {cmd} failed: {e}"));
            }
        }
    }

    /// Press Alt+SysRq+`key` on the guest's PS/2 keyboard. The kernel handles it in
    /// interrupt context, so it works when user space is starved; the guest needs
    /// `kernel.sysrq=1` for the dump and signal keys.
    pub fn sysrq(&mut self, key: char, timeout: Duration) -> Result<(), String> {
        let keys = json!([
            { "type": "qcode", "data": "alt" },
            { "type": "qcode", "data": "sysrq" },
            { "type": "qcode", "data": key.to_string() },
        ]);
        self.execute("send-key", Some(json!({ "keys": keys })), timeout)
            .map(drop)
    }

    /// A human-monitor command (e.g. `info registers -a`), its text output.
    pub fn hmp(&mut self, command: &str, timeout: Duration) -> Result<String, String> {
        let r = self.execute(
            "human-monitor-command",
            Some(json!({ "command-line": command })),
            timeout,
        )?;
        Ok(r.as_str().unwrap_or_default().to_string())
    }

    /// Ask QEMU to exit; the caller still kills the process group afterwards.
    pub fn quit(&mut self, timeout: Duration) {
        let _ = self.execute("quit", None, timeout);
    }
}

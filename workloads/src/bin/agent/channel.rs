//! The event channel to the host: a raw serial port, one JSON line per event.

use oomlab_workloads::event::Event;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

pub struct Channel {
    tty: Mutex<Option<File>>,
}

impl Channel {
    /// Open the event tty; if it is missing, events go to the console with a prefix
    /// so the host still learns why nothing arrives.
    pub fn open(path: &str) -> Channel {
        let tty = OpenOptions::new()
            .write(true)
            .custom_flags_noctty()
            .open(path)
            .ok();
        if let Some(f) = &tty {
            if let Err(e) = crate::sys::make_raw(f.as_raw_fd()) {
                eprintln!("oomlab-agent: cannot make {path} raw: {e}");
            }
        } else {
            eprintln!("oomlab-agent: cannot open event channel {path}");
        }
        Channel {
            tty: Mutex::new(tty),
        }
    }

    #[cfg(test)]
    pub fn from_file(f: File) -> Channel {
        Channel {
            tty: Mutex::new(Some(f)),
        }
    }

    /// Send one event. A line is written with a single write() so lines from the
    /// heartbeat and the supervisor never interleave.
    pub fn send(&self, event: &Event) {
        let mut line = event.to_line();
        line.push('\n');
        self.send_line(line.as_bytes());
    }

    /// Send one prepared line (with its newline). Allocates nothing while the port is
    /// open, so the heartbeat can use it after setup.
    pub fn send_line(&self, line: &[u8]) {
        crate::fault::freeze_point();
        let mut guard = match self.tty.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        match guard.as_mut() {
            Some(f) => {
                let _ = f.write_all(line);
            }
            None => eprint!("oomlab-event: {}", String::from_utf8_lossy(line)),
        }
    }

    pub fn drain(&self) {
        if let Ok(g) = self.tty.lock() {
            if let Some(f) = g.as_ref() {
                crate::sys::drain(f.as_raw_fd());
            }
        }
    }
}

trait NoCtty {
    fn custom_flags_noctty(&mut self) -> &mut Self;
}

impl NoCtty for OpenOptions {
    /// PID 1 must not acquire the event port as its controlling terminal.
    fn custom_flags_noctty(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOCTTY)
    }
}

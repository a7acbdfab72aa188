//! File system helpers that make the cache safe to share between concurrent oomlab
//! processes: unique temporary names, write-then-rename, and `flock` locks.

use crate::Error;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A name fragment unique across processes (pid) and within one (counter), so two
/// writers never share a temporary file.
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A temporary sibling path of `dest`, in the same directory so `rename` is atomic.
pub(crate) fn temp_sibling(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.tmp-{}", unique_suffix()))
}

/// Removes a temporary file or directory when dropped unless `keep` was called, so
/// a failed build leaves no half-written files behind.
pub(crate) struct TempGuard {
    path: Option<PathBuf>,
}

impl TempGuard {
    pub(crate) fn new(path: PathBuf) -> Self {
        TempGuard { path: Some(path) }
    }

    pub(crate) fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// The temporary was renamed into place: do not delete it.
    pub(crate) fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// Write `write` into a temporary sibling of `dest`, then rename it over `dest`.
/// Readers see either no file or the whole file, never a partial one.
pub(crate) fn write_atomically(
    dest: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let tmp = TempGuard::new(temp_sibling(dest));
    let file = File::create(tmp.path()).map_err(Error::io("creating", tmp.path()))?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out).map_err(Error::io("writing", tmp.path()))?;
    let file = out
        .into_inner()
        .map_err(|e| Error::io("writing", tmp.path())(e.into_error()))?;
    file.sync_all().map_err(Error::io("syncing", tmp.path()))?;
    std::fs::rename(tmp.path(), dest).map_err(Error::io("renaming into", dest))?;
    tmp.keep();
    Ok(())
}

/// An exclusive `flock` held until dropped (the kernel releases it if we die).
pub(crate) struct FileLock {
    _file: File,
}

impl FileLock {
    /// Take the lock at `path`, creating the lock file. Calls `waiting` once if
    /// another process holds it, then blocks.
    pub(crate) fn acquire(path: &Path, waiting: &mut dyn FnMut()) -> Result<Self, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(Error::io("opening lock file", path))?;
        // SAFETY: flock on a descriptor we own; no memory is shared with the kernel.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            waiting();
            loop {
                // SAFETY: as above.
                let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
                if rc == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(Error::io("locking", path)(err));
                }
            }
        }
        Ok(FileLock { _file: file })
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's contents, streamed so large kernels need no big buffer.
pub(crate) fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file = File::open(path).map_err(Error::io("reading", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(Error::io("reading", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Read a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(Error::io("reading", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        write_atomically(&dest, |w| std::io::Write::write_all(w, b"one")).unwrap();
        write_atomically(&dest, |w| std::io::Write::write_all(w, b"two")).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_atomic_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let r = write_atomically(&dest, |_| Err(std::io::Error::other("boom")));
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn lock_is_exclusive_between_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        let held = FileLock::acquire(&path, &mut || panic!("first lock must not wait")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = path.clone();
        let t = std::thread::spawn(move || {
            let mut waited = false;
            let _l = FileLock::acquire(&p2, &mut || waited = true).unwrap();
            tx.send(waited).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(held);
        assert!(rx.recv().unwrap(), "second locker should have waited");
        t.join().unwrap();
    }

    #[test]
    fn sha256_of_known_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

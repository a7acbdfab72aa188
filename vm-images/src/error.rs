//! The crate's one error type. Every message is a single line that says what went
//! wrong and what the user can do about it, because the harness prints them verbatim.

use std::path::PathBuf;

/// Everything that can go wrong while preparing kernels and initramfs archives.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file system operation failed; `action` says what we were doing.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// No cache directory could be chosen from the flag or the environment.
    #[error("no cache directory: none of OOMLAB_CACHE_DIR, XDG_CACHE_HOME or HOME is set; pass --cache-dir DIR")]
    NoCacheHome,

    /// The chosen cache directory cannot be created.
    #[error("cannot create cache directory {}: {source}; pass --cache-dir DIR or set OOMLAB_CACHE_DIR to a writable place", path.display())]
    CacheDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The kernel spec text could not be parsed.
    #[error("invalid kernel spec '{spec}': {reason}; accepted: debian:SERIES[-FLAVOUR] (SERIES like 6.1 or 6.12; FLAVOUR cloud (default), amd64 or rt) or a bzImage path containing '/' or starting with '.'")]
    InvalidSpec { spec: String, reason: String },

    /// A host tool we shell out to is not installed.
    #[error("{tool} not found: {why}")]
    ToolMissing {
        tool: &'static str,
        why: &'static str,
    },

    /// A host tool ran but failed.
    #[error("`{command}` failed ({status}): {detail}; {hint}")]
    ToolFailed {
        command: String,
        status: String,
        detail: String,
        hint: &'static str,
    },

    /// apt has no image package for the requested series and flavour.
    #[error("no Debian kernel for series {series} flavour {flavour}; apt offers: {available}; pick one of those or run apt-get update")]
    NoDebianKernel {
        series: String,
        flavour: String,
        available: String,
    },

    /// A downloaded package did not contain what a kernel image package must.
    #[error("package {package} is not a usable kernel package: {reason}; delete {} and retry", dir.display())]
    BadPackage {
        package: String,
        reason: String,
        dir: PathBuf,
    },

    /// A bzImage path does not exist.
    #[error("kernel image {} does not exist; pass the path of a bzImage (e.g. arch/x86/boot/bzImage)", path.display())]
    KernelNotFound { path: PathBuf },

    /// A file that was required to be an x86 bzImage is not one.
    #[error("{} is not an x86 bzImage (no HdrS header); pass arch/x86/boot/bzImage or a distribution vmlinuz", path.display())]
    NotBzImage { path: PathBuf },

    /// The --modules directory does not hold the kernel's modules.
    #[error("modules directory {} holds neither modules.dep/modules.builtin nor lib/modules/{release}; pass lib/modules/RELEASE or the root it was installed into", path.display())]
    ModulesDirNotFound { path: PathBuf, release: String },

    /// Modules were requested for a kernel that has no modules directory.
    #[error("modules {names} were requested but kernel {kernel} has no modules directory; pass --modules DIR or build them into the kernel")]
    NoModulesDir { kernel: String, names: String },

    /// A module name is neither a module file nor built in.
    #[error("module '{name}' not found in {} (neither modules.dep, a module file nor modules.builtin names it){context}", dir.display())]
    UnknownModule {
        name: String,
        dir: PathBuf,
        context: String,
    },

    /// modules.dep describes a dependency cycle, which modprobe could not load either.
    #[error("module dependency cycle through '{name}' in {}; regenerate modules.dep with depmod", dir.display())]
    ModuleCycle { name: String, dir: PathBuf },

    /// A module file uses a compression we do not decode.
    #[error("{} uses a compression oomlab cannot decode (only .ko and .ko.xz); decompress it on the host first", path.display())]
    UnsupportedCompression { path: PathBuf },

    /// A compressed module could not be decoded.
    #[error("cannot decompress {}: {reason}; the file is corrupt, re-fetch the kernel (delete its cache directory)", path.display())]
    Decompress { path: PathBuf, reason: String },

    /// A module or binary is not the ELF file it must be.
    #[error("{} is not a usable ELF file: {reason}", path.display())]
    BadElf { path: PathBuf, reason: String },

    /// A binary destined for the initramfs needs a dynamic loader the guest lacks.
    #[error("{} is dynamically linked but the initramfs has no libc; build it with -C target-feature=+crt-static", path.display())]
    NotStatic { path: PathBuf },

    /// A dynamic guest program was given without its program interpreter.
    #[error("{} is dynamically linked but its loader {interp} is not among the guest files; add it with its libraries (initramfs::with_libraries) or build it statically", path.display())]
    LoaderMissing { path: PathBuf, interp: String },

    /// A dynamic program's loader or one of its libraries is not on the host.
    #[error("{library}, needed by {}, was not found ({searched}); install it on the host or build the program statically", needed_by.display())]
    MissingLibrary {
        library: String,
        needed_by: PathBuf,
        searched: String,
    },

    /// An initramfs guest path is unusable.
    #[error("bad guest path '{path}': {reason}")]
    BadGuestPath { path: String, reason: String },
}

impl Error {
    /// Wrap an `io::Error` with the action and path that produced it.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}

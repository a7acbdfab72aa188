//! Kernel and guest image preparation for oomlab.
//!
//! - [`kernel`]: resolve a spec (`debian:6.12`, `./bzImage`) to a cached bzImage,
//!   its modules and config.
//! - [`modules`]: pick module files in load order and decompress them.
//! - [`initramfs`]: build the guest's root file system as cpio archives.
//! - [`hostlib`]: the loader and libraries a dynamic host program needs in the guest.
//! - [`cpio`], [`elf`]: the file formats those need.
//! - [`cache`]: where it all is kept between runs.

pub mod cache;
pub mod cpio;
pub mod debversion;
pub mod elf;
mod error;
mod fsutil;
pub mod hostlib;
pub mod initramfs;
pub mod kernel;
pub mod modules;

pub use error::Error;

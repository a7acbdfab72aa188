//! oomlab's results: the record of one run, the store that keeps them, summaries, and
//! comparisons between kernels.

pub mod compare;
pub mod record;
pub mod stats;
pub mod store;
pub mod summary;

pub use record::{Outcome, RunRecord};
pub use store::{RunDir, Store, StoreError};

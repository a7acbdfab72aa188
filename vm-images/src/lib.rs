//! Kernel and guest image preparation (being written).

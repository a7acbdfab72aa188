//! Kernel log parser (being written).

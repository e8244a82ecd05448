//! `scrub discover`: a hypothesis found by the core's greedy search, written as a file,
//! then attacked by the adversary; the report of both, and (for programs of the
//! ground-truth suite) how the found circuit compares with the true one.

mod report;

pub use report::DiscoverReport;

//! The adversary: joins of hypotheses, the sampling-together constraints a hypothesis
//! permits, the search over them and the game report. Filled in by the adversary issue;
//! it depends on `scrub-core` only, never on a device.

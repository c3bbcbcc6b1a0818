//! The demo crate's tests, one binary: the chaos rollout, and the contract between the templates
//! and the functions (they sit above both, as the demo does).

mod support;

mod chaos;
mod consistency;
mod fit;

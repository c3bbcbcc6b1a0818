//! The simulator's tests, one binary: its router, and its faults.

mod common;

mod chaos;
mod router;

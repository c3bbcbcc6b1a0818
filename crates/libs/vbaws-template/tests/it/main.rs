//! The templates' tests, one binary: the player, the Lambdas template, the worker network, AWS's
//! limits and Veeam's permission lists. Their contract with the functions is tested in
//! vbaws-demo, which sits above both.

mod support;

mod lambdas;
mod limits;
mod permissions;
mod player;
mod worker_network;

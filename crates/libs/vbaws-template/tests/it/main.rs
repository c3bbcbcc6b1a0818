//! The templates' tests, one binary: the player, consistency with the functions, the Lambdas
//! template, AWS's limits and Veeam's permission lists.

mod support;

mod consistency;
mod lambdas;
mod limits;
mod permissions;
mod player;
mod worker_network;

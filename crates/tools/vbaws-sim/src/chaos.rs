//! Faults as rates, as a busy appliance and IAM's eventual consistency produce them: a share of
//! requests answered 503, broken mid-answer or never answered, drawn from a seeded generator so
//! that a run can be repeated; slow password logins; and a new role that cannot be assumed for
//! a while after the appliance first tries it.

use std::{collections::HashMap, time::Duration};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::state::Injected;

/// How unreliable the appliance is. The default is a perfect one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chaos {
    /// Seeds the draws: the same seed and the same requests give the same faults.
    pub seed: u64,
    /// Shares of requests (0.0 to 1.0) answered 503, broken mid-answer, never answered.
    pub unavailable: f64,
    pub drop: f64,
    pub hang: f64,
    /// Added to every password login (they are slow on real appliances: key derivation).
    pub login_latency: Duration,
    /// How long a role stays unassumable after its first registration attempt, as IAM takes a
    /// while to make a new role assumable everywhere. The appliance cannot see when the role
    /// was created; the first attempt comes right after it, from the stack that created it.
    pub propagation: Duration,
}

/// The generator and what the appliance has tried, under the state's lock.
#[derive(Debug)]
pub(crate) struct Draws {
    pub chaos: Chaos,
    rng: ChaCha8Rng,
    first_tried: HashMap<(String, String), Instant>,
}

impl Default for Draws {
    fn default() -> Self {
        Self::new(Chaos::default())
    }
}

impl Draws {
    pub(crate) fn new(chaos: Chaos) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(chaos.seed),
            chaos,
            first_tried: HashMap::new(),
        }
    }

    /// The fault this request gets, if any: one draw per request.
    pub(crate) fn draw(&mut self) -> Option<Injected> {
        let Chaos {
            hang,
            drop,
            unavailable,
            ..
        } = self.chaos;
        if hang + drop + unavailable <= 0.0 {
            return None;
        }
        let x: f64 = self.rng.random();
        if x < hang {
            Some(Injected::Hang)
        } else if x < hang + drop {
            Some(Injected::Drop)
        } else if x < hang + drop + unavailable {
            Some(Injected::Unavailable)
        } else {
            None
        }
    }

    /// Whether `role` of `account` is still propagating: not assumable yet.
    pub(crate) fn propagating(&mut self, account: &str, role: &str) -> bool {
        if self.chaos.propagation.is_zero() {
            return false;
        }
        let first = *self
            .first_tried
            .entry((account.to_owned(), role.to_owned()))
            .or_insert_with(Instant::now);
        first.elapsed() < self.chaos.propagation
    }
}

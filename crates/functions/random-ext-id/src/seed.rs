//! The 256-bit seed an external ID is expanded from, and its place in the PhysicalResourceId.

use rand::{SeedableRng, TryRngCore, rngs::OsRng};
use rand_chacha::ChaCha20Rng;

use crate::Error;

/// Physical IDs of this resource start with this; the digit is the format's version.
const PREFIX: &str = "rxid1-";

/// A seed drawn from the operating system's CSPRNG.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32]);

// The seed determines the external ID: never print it.
impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

impl Seed {
    /// A fresh seed from the operating system.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0; 32];
        OsRng.try_fill_bytes(&mut bytes).map_err(Error::Entropy)?;
        Ok(Self(bytes))
    }

    /// A seed with these bytes, for tests.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The seed a PhysicalResourceId of ours carries; `None` for any other ID.
    pub fn from_physical_id(id: &str) -> Option<Self> {
        let hex = id.strip_prefix(PREFIX)?;
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// `rxid1-` and the seed in lower-case hex.
    pub fn physical_id(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("{PREFIX}{hex}")
    }

    /// The ChaCha20 stream this seed starts.
    pub(crate) fn rng(&self) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_ids_round_trip_and_foreign_ids_are_refused() {
        let seed = Seed::generate().expect("entropy");
        let id = seed.physical_id();
        assert_eq!(id.len(), 70);
        assert_eq!(Seed::from_physical_id(&id), Some(seed));
        for foreign in [
            "",
            "rxid1-",
            "rxid1-zz",
            &format!("rxid2-{}", "0".repeat(64)),
            "2026/11/22/[$LATEST]abc",
        ] {
            assert_eq!(Seed::from_physical_id(foreign), None, "{foreign}");
        }
        assert_ne!(
            Seed::generate().expect("entropy"),
            Seed::generate().expect("entropy")
        );
    }
}

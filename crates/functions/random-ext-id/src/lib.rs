//! `Custom::RandomExtIdGenerator`: a cryptographically random external ID for the trust policy of
//! an IAM role that the backup appliance assumes.
//!
//! Properties: `Length` (2 to 1224, 32 when absent) and `Rotation` (optional, any text). Data:
//! `RandomExtId`, answered with NoEcho.
//!
//! The function keeps no state, yet an Update that changes neither Length nor Rotation must
//! return the same ID. So the PhysicalResourceId carries a 256-bit seed drawn from the operating
//! system's CSPRNG, and the ID is that seed expanded by ChaCha20 into `[A-Za-z0-9]` by rejection
//! sampling (uniform, no modulo bias). Whoever can read the stack's physical IDs can therefore
//! compute the external ID, just as whoever can read the role's trust policy can read it there:
//! an external ID guards against a confused deputy, it is not a password.
//!
//! Create issues a new seed. Update keeps the seed when Length and Rotation are unchanged, and
//! issues a new one otherwise, which gives a new PhysicalResourceId: a replacement, whose old ID
//! CloudFormation then deletes (a no-op here). Delete has nothing to remove.

mod seed;

use rand::distr::{Alphanumeric, Distribution};
use serde::{Deserialize, Deserializer, de::Error as _};
use tracing::info;
use vbaws_cfn::{Action, CustomResource, Outcome, Request, props};

pub use seed::Seed;

/// The shortest external ID IAM accepts.
pub const MIN_LENGTH: u16 = 2;
/// The longest external ID IAM accepts.
pub const MAX_LENGTH: u16 = 1224;
/// The length when the template gives none.
pub const DEFAULT_LENGTH: u16 = 32;
/// The Data key of the external ID, read with `Fn::GetAtt`.
pub const RANDOM_EXT_ID: &str = "RandomExtId";
/// Every Data key this function returns.
pub const DATA_KEYS: &[&str] = &[RANDOM_EXT_ID];

/// The resource's properties.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Properties {
    #[serde(default = "default_length", deserialize_with = "length")]
    pub length: u16,
    /// Changing this, to any other value, rotates the ID.
    #[serde(default, deserialize_with = "props::optional_text")]
    pub rotation: Option<String>,
}

fn default_length() -> u16 {
    DEFAULT_LENGTH
}

fn length<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    props::scalar_text(&value)
        .and_then(|text| text.trim().parse::<u16>().ok())
        .filter(|n| (MIN_LENGTH..=MAX_LENGTH).contains(n))
        .ok_or_else(|| {
            D::Error::custom(format!(
                "it must be a whole number from {MIN_LENGTH} to {MAX_LENGTH} (IAM's limits for an \
                 external ID), got {value}"
            ))
        })
}

/// Failures of the generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the operating system's random number generator failed: {0}")]
    Entropy(rand::rand_core::OsError),
}

/// The external ID `seed` expands to, `length` characters of `[A-Za-z0-9]`.
pub fn external_id(seed: &Seed, length: u16) -> String {
    Alphanumeric
        .sample_iter(seed.rng())
        .take(usize::from(length))
        .map(char::from)
        .collect()
}

/// The function behind `Custom::RandomExtIdGenerator`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtIdGenerator;

impl CustomResource for ExtIdGenerator {
    type Properties = Properties;
    type Error = Error;

    async fn handle(&self, request: Request<Properties>) -> Result<Outcome, Error> {
        let props = &request.properties;
        let seed = match &request.action {
            Action::Create => Seed::generate()?,
            Action::Update {
                physical_resource_id,
                old_properties,
            } => {
                match (
                    old_properties.as_ref() == Some(props),
                    Seed::from_physical_id(physical_resource_id),
                ) {
                    (true, Some(seed)) => seed,
                    (true, None) => {
                        info!("the physical ID carries no seed (made by another version); issuing a new ID");
                        Seed::generate()?
                    }
                    (false, _) => {
                        info!("Length or Rotation changed; issuing a new ID");
                        Seed::generate()?
                    }
                }
            }
            Action::Delete { .. } => return Ok(Outcome::new()),
        };
        Ok(Outcome::new()
            .physical_id(seed.physical_id())
            .data(RANDOM_EXT_ID, external_id(&seed, props.length))
            .no_echo())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: serde_json::Value) -> Result<Properties, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn lengths_are_read_from_strings_and_checked_against_iam_limits() {
        assert_eq!(parse(serde_json::json!({})).map(|p| p.length), Ok(32));
        assert_eq!(
            parse(serde_json::json!({"Length": "2", "ServiceToken": "x"})).map(|p| p.length),
            Ok(2)
        );
        assert_eq!(
            parse(serde_json::json!({"Length": 1224})).map(|p| p.length),
            Ok(1224)
        );
        for bad in ["1", "1225", "abc", "12.5", "-3", ""] {
            let error = parse(serde_json::json!({ "Length": bad })).expect_err(bad);
            assert!(
                error.contains("it must be a whole number from 2 to 1224"),
                "{bad}: {error}"
            );
            assert!(error.contains(&format!("got \"{bad}\"")), "{bad}: {error}");
        }
    }

    #[test]
    fn a_seed_always_expands_to_the_same_id_of_the_asked_length() {
        let seed = Seed::from_bytes([7; 32]);
        let id = external_id(&seed, 64);
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        assert_eq!(id, external_id(&seed, 64));
        assert_eq!(
            &external_id(&seed, 1224)[..64],
            id,
            "a longer ID extends the shorter one"
        );
        assert_ne!(id, external_id(&Seed::from_bytes([8; 32]), 64));
    }

    /// Chi-squared test of uniformity over the 62 characters. The seeds are fixed, so the test is
    /// deterministic; with 61 degrees of freedom the statistic exceeds 120 with probability
    /// below 1e-5 for a uniform source, while a modulo-biased mapping of bytes (256 % 62 = 8
    /// characters favoured) scores in the thousands at this sample size.
    #[test]
    fn characters_are_uniform_over_the_alphabet() {
        let mut counts = [0u64; 128];
        let mut total = 0u64;
        for i in 0..400u32 {
            let mut bytes = [0; 32];
            bytes[..4].copy_from_slice(&i.to_le_bytes());
            let seed = Seed::from_bytes(bytes);
            for byte in external_id(&seed, 1224).bytes() {
                counts[usize::from(byte)] += 1;
                total += 1;
            }
        }
        let expected = total as f64 / 62.0;
        let alphabet = (b'0'..=b'9').chain(b'A'..=b'Z').chain(b'a'..=b'z');
        let chi2: f64 = alphabet
            .map(|c| (counts[usize::from(c)] as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 120.0, "chi-squared {chi2:.1} over {total} characters");
    }
}

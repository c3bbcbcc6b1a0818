use std::fmt;

/// Text that must never be printed: a password, a token. `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text itself, for sending it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// The appliance user the client logs in as.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl Credentials {
    /// Reads the secret that holds them: JSON with non-empty `username` and `password` (the
    /// shape the Lambdas stack generates). The error says what is wrong with it, never its text.
    pub fn from_secret_json(text: &str) -> Result<Self, &'static str> {
        #[derive(serde::Deserialize)]
        struct Pair {
            username: Option<String>,
            password: Option<String>,
        }
        let pair: Pair = serde_json::from_str(text).map_err(|_| "is not JSON")?;
        let username = pair.username.filter(|u| !u.is_empty()).ok_or("has no username")?;
        let password = pair.password.filter(|p| !p.is_empty()).ok_or("has no password")?;
        Ok(Self::new(username, password))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let credentials = Credentials::new("admin", "hunter2");
        let shown = format!(
            "{credentials:?} {} {:?}",
            credentials.password, credentials.password
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(credentials.password.expose(), "hunter2");
    }
}

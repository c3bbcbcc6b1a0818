//! AWS config files as platform teams have them, for testing that the operator commands sign in
//! the way people do: a home folder with an IAM Identity Center profile (no session cached, as
//! before `aws sso login`), a `credential_process` profile whose process fails, and one with keys (`keys`).

use std::path::{Path, PathBuf};

/// The profiles, as the AWS CLI's `aws configure sso` writes them.
const CONFIG: &str = "\
[profile platform]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = PlatformAdmin
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile legacy-sso]
sso_start_url = https://corp.awsapps.example/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = PlatformAdmin

[profile keys]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
region = eu-west-1

[profile broken-process]
credential_process = false
region = eu-west-1
";

/// A home folder holding only those files; removed when dropped.
#[derive(Debug)]
pub struct Profiles {
    home: PathBuf,
}

impl Profiles {
    /// Writes the files under a new folder of the system's temporary folder.
    pub fn create(name: &str) -> std::io::Result<Self> {
        let home = std::env::temp_dir().join(format!("vbaws-profiles-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(home.join(".aws"))?;
        std::fs::write(home.join(".aws/config"), CONFIG)?;
        std::fs::write(home.join(".aws/credentials"), "")?;
        Ok(Self { home })
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The environment a command needs to see only these files and no other credentials.
    pub fn apply(&self, command: &mut std::process::Command) {
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", self.home.join(".aws/config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.home.join(".aws/credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }
}

impl Drop for Profiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

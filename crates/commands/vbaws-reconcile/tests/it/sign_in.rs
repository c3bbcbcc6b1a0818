//! The command signs in as platform teams do: an IAM Identity Center profile without a session
//! is asked to log in, before the appliance or any AWS API is called.

use std::process::Command;

use vbaws_testkit::Profiles;

#[test]
fn an_identity_center_profile_is_asked_to_log_in() {
    let profiles = Profiles::create("reconcile").expect("profiles");
    // The Organization's profile, then the backup account's (for the secret).
    for (flags, profile) in [
        (["--profile", "platform", "--secret-profile", "keys"], "platform"),
        (
            ["--profile", "keys", "--secret-profile", "legacy-sso"],
            "legacy-sso",
        ),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vbaws-reconcile"));
        profiles.apply(&mut command);
        let output = command
            // Nothing listens there: the sign-in must fail first, and alone.
            .args([
                "--api-url",
                "https://127.0.0.1:9",
                "--insecure",
                "--region",
                "eu-west-1",
            ])
            .args(["--secret-id", "vbaws-appliance"])
            .args(flags)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("run `aws sso login --profile {profile}`")),
            "{flags:?}: {stderr}"
        );
        assert!(!stderr.contains("127.0.0.1"), "nothing else was tried: {stderr}");
    }
}

//! The preflight signs in as platform teams do: an IAM Identity Center profile is understood
//! (it asks for `aws sso login`, not for a feature the build lacks), and every other profile that
//! cannot sign in is one clear error before any check, not the same failure in each check.

use std::process::Command;

use vbaws_testkit::Profiles;

fn preflight(profiles: &Profiles, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vbaws-preflight"));
    profiles.apply(&mut command);
    let output = command
        .args(["--region", "eu-west-1"])
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn each_profile_that_cannot_sign_in_says_what_to_run() {
    let profiles = Profiles::create("preflight").expect("profiles");
    for (args, expected) in [
        (
            &["--profile", "platform"][..],
            "the profile platform signs in through IAM Identity Center and has no valid session",
        ),
        (
            &["--profile", "legacy-sso"],
            "run `aws sso login --profile legacy-sso`",
        ),
        (
            &["--org-profile", "platform", "--profile", "nobody"],
            "there is no profile nobody in the AWS config and credentials files",
        ),
        (
            &["--profile", "broken-process"],
            "the credential_process of the profile broken-process failed",
        ),
    ] {
        let (code, stdout, stderr) = preflight(&profiles, args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("FeatureNotEnabled") && !stderr.contains("feature"),
            "{args:?}: {stderr}"
        );
        assert!(stdout.is_empty(), "no check runs without credentials: {stdout}");
    }
    // The backup account's profile signs in; the Organization's is asked to.
    let (code, _, stderr) = preflight(&profiles, &["--profile", "keys", "--org-profile", "platform"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("aws sso login --profile platform"), "{stderr}");
    println!("{stderr}");
}

//! `--collect` signs in to each account as platform teams do: an IAM Identity Center profile
//! without a session names the account and asks to log in, and nothing is left half-written.

use std::process::Command;

use vbaws_testkit::Profiles;

#[test]
fn an_identity_center_profile_is_asked_to_log_in() {
    let profiles = Profiles::create("netcheck").expect("profiles");
    let roles = profiles.home().join("roles.yaml");
    std::fs::write(
        &roles,
        "operations: [ec2-backup]\nappliance_address: 10.0.1.20/32\nroles:\n  vpc-0a1b2c3d: appliance\n\
         accounts:\n  - { name: backup, regions: [eu-west-1], profile: platform }\n",
    )
    .expect("roles file");
    let out = profiles.home().join("snapshot");
    let mut command = Command::new(env!("CARGO_BIN_EXE_vbaws-netcheck"));
    profiles.apply(&mut command);
    let output = command
        .arg("--collect")
        .arg(&out)
        .arg("--roles")
        .arg(&roles)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("account backup: the profile platform signs in through IAM Identity Center")
            && stderr.contains("run `aws sso login --profile platform`"),
        "{stderr}"
    );
    assert!(!out.exists(), "no snapshot is left behind");
}

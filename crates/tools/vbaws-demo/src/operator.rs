//! The platform engineer's terminal: the project's own `make` targets and scripts, run as they
//! are documented, with the AWS CLI replaced by the stand-in the deploy checks use
//! (`tests/deploy/aws_standin.py`: each call recorded and checked against the CLI's service
//! model, a folder as the bucket). What the commands ask CloudFormation for is read back from
//! the recorded calls and played by the template player.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use crate::DemoError;

/// The bucket `make publish` uploads to.
pub(crate) const BUCKET: &str = "vbaws-artifacts";

/// One AWS CLI call, as its arguments.
pub(crate) type Call = Vec<String>;

#[derive(Debug)]
pub(crate) struct Operator {
    /// The project: where the Makefile, the scripts and the templates are.
    root: PathBuf,
    scratch: PathBuf,
}

impl Operator {
    /// A scratch folder with the stand-in `aws` and an empty bucket. `root` is the project's
    /// folder (`make demo` runs there); its `.venv` holds the stand-in's python.
    pub(crate) fn new(root: &Path) -> Result<Self, DemoError> {
        let python = root.join(".venv/bin/python");
        let standin = root.join("tests/deploy/aws_standin.py");
        for needed in [&python, &standin, &root.join("Makefile")] {
            if !needed.exists() {
                return Err(DemoError::start(std::io::Error::other(format!(
                    "{} is missing: run the upgrade story from the project's folder with `make demo STORY=upgrade` \
                     (it installs .venv)",
                    needed.display()
                ))));
            }
        }
        let scratch = std::env::temp_dir().join(format!("vbaws-upgrade-{}", std::process::id()));
        let io = |e: std::io::Error| DemoError::start(e);
        for folder in ["bin", "bucket", "project/dist", "project/template"] {
            std::fs::create_dir_all(scratch.join(folder)).map_err(io)?;
        }
        let wrapper = format!(
            "#!/bin/sh\nexec \"{}\" \"{}\" \"$@\"\n",
            python.display(),
            standin.display()
        );
        let aws = scratch.join("bin/aws");
        std::fs::write(&aws, wrapper).map_err(io)?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
        Ok(Self {
            root: root.to_owned(),
            scratch,
        })
    }

    /// Puts a release where `make publish` finds it: a zip per function, each holding its
    /// `bootstrap`, and `roles.yaml`.
    pub(crate) fn build(&self, bootstraps: &[(&str, Vec<u8>)], roles: &str) -> Result<(), DemoError> {
        let project = self.scratch.join("project");
        let io = |e: std::io::Error| DemoError::start(e);
        for (function, bootstrap) in bootstraps {
            let raw = self.scratch.join(format!("{function}.bootstrap"));
            std::fs::write(&raw, bootstrap).map_err(io)?;
            let zip = project.join(format!("dist/{function}.zip"));
            self.run(
                Command::new(self.root.join(".venv/bin/python")).args([
                    "-c".as_ref(),
                    "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w').write(sys.argv[2], 'bootstrap')"
                        .as_ref(),
                    zip.as_os_str(),
                    raw.as_os_str(),
                ]),
            )?;
        }
        std::fs::write(project.join("template/roles.yaml"), roles).map_err(io)
    }

    /// `make publish`'s script, on the release [`Operator::build`] put in place.
    pub(crate) fn publish(&self) -> Result<Vec<Call>, DemoError> {
        let mut command = Command::new(self.root.join("scripts/publish.sh"));
        command
            .args([BUCKET, crate::world::REGION])
            .current_dir(self.scratch.join("project"));
        self.run(&mut command)
    }

    /// `make <target> VAR=value …` in the project, with `outputs` as the backup account's
    /// Lambdas stack outputs and `stack_set_parameters` as what DescribeStackSet lists.
    pub(crate) fn make(
        &self,
        target: &str,
        variables: &[(&str, &str)],
        outputs: &BTreeMap<String, String>,
        stack_set_parameters: &[String],
    ) -> Result<Vec<Call>, DemoError> {
        let mut command = Command::new("make");
        command
            .args(["--no-print-directory", target])
            .arg(format!("REGION={}", crate::world::REGION))
            .args(variables.iter().map(|(k, v)| format!("{k}={v}")))
            .current_dir(&self.root)
            .env("FAKE_STACKSET_PARAMETERS", stack_set_parameters.join("\t"));
        for (key, value) in outputs {
            command.env(format!("FAKE_{key}"), value);
        }
        self.run(&mut command)
    }

    /// An object of the bucket, by its URL (`https://<bucket>.s3.<region>.amazonaws.com/<key>`).
    pub(crate) fn object(&self, url: &str) -> Result<String, DemoError> {
        let key = url.rsplit('/').next().unwrap_or_default();
        std::fs::read_to_string(self.scratch.join("bucket").join(key))
            .map_err(|e| DemoError::start(std::io::Error::other(format!("{url} is not in the bucket: {e}"))))
    }

    /// Runs `command` with the stand-in first on PATH; returns the AWS CLI calls it made, or
    /// what it printed when it failed.
    fn run(&self, command: &mut Command) -> Result<Vec<Call>, DemoError> {
        let log = self.scratch.join("calls");
        let _ = std::fs::remove_file(&log);
        let path = std::env::var("PATH").unwrap_or_default();
        let program = format!("{command:?}");
        let done = command
            .env("PATH", format!("{}:{path}", self.scratch.join("bin").display()))
            .env("FAKE_AWS_LOG", &log)
            .env("FAKE_BUCKET", self.scratch.join("bucket"))
            .env("PUBLISHED", self.scratch.join("published.env"))
            .output()
            .map_err(|problem| DemoError::Run {
                program: program.clone(),
                problem,
            })?;
        if !done.status.success() {
            return Err(DemoError::Run {
                program,
                problem: std::io::Error::other(format!(
                    "{}{}",
                    String::from_utf8_lossy(&done.stdout),
                    String::from_utf8_lossy(&done.stderr)
                )),
            });
        }
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        Ok(calls
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect())
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// The call whose arguments start with `prefix`.
pub(crate) fn find<'a>(calls: &'a [Call], prefix: &[&str]) -> Option<&'a Call> {
    calls
        .iter()
        .find(|call| call.len() >= prefix.len() && call.iter().zip(prefix).all(|(a, b)| a == b))
}

/// The value after `flag`.
pub(crate) fn value<'a>(call: &'a Call, flag: &str) -> Option<&'a str> {
    let at = call.iter().position(|a| a == flag)?;
    call.get(at + 1).map(String::as_str)
}

/// `aws cloudformation deploy --parameter-overrides K=V …`: the parameters given (the CLI keeps
/// the previous value of every other one).
pub(crate) fn parameter_overrides(call: &Call) -> Vec<(String, String)> {
    let start = call
        .iter()
        .position(|a| a == "--parameter-overrides")
        .map_or(call.len(), |i| i + 1);
    call[start..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `--parameters ParameterKey=K,ParameterValue=V …` of create-stack-set and update-stack-set:
/// the values given (`UsePreviousValue=true` keeps the previous one), commas unescaped.
pub(crate) fn stack_set_parameters(call: &Call) -> Vec<(String, String)> {
    let start = call
        .iter()
        .position(|a| a == "--parameters")
        .map_or(call.len(), |i| i + 1);
    call[start..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .filter_map(|a| {
            let rest = a.strip_prefix("ParameterKey=")?;
            let (key, value) = rest.split_once(",ParameterValue=")?;
            Some((key.to_owned(), value.replace("\\,", ",")))
        })
        .collect()
}

/// The keys of `s3 cp` uploads.
pub(crate) fn uploads(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.len() > 3 && c[0] == "s3" && c[1] == "cp")
        .map(|c| c[3].rsplit('/').next().unwrap_or_default().to_owned())
        .collect()
}

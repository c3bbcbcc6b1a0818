"""make deploy-stackset / update-stackset / deploy-lambdas against a stand-in for the AWS CLI.

The stand-in `aws` records each call and answers describe-stacks with the outputs a test gives
it, so the checks see exactly which account's credentials read the function ARNs and which
parameters reach CloudFormation. Nothing talks to AWS.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
STANDIN = pathlib.Path(__file__).resolve().parent / "aws_standin.py"
FAKE_AWS = f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n'
EXT_ID = "arn:aws:lambda:eu-west-1:111111111111:function:vbaws-random-ext-id"
CONFIGURATOR = "arn:aws:lambda:eu-west-1:111111111111:function:vbaws-veeam-configurator"
CONFIGURATOR_ROLE = "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B"
# A StackSet of this release has every parameter; one from before has fewer.
CURRENT = "Services\tConfiguratorRoleArn"
results = []
# The stand-in bucket, and the manifest make publish writes, for the whole run.
SCRATCH = pathlib.Path(tempfile.mkdtemp())
BUCKET = SCRATCH / "bucket"
BUCKET.mkdir()
PUBLISHED = SCRATCH / "published.env"


def make(target, **variables):
    """Runs a make target with a stand-in aws; returns (exit code, stderr, recorded calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = pathlib.Path(tmp) / "bin"
        bin_dir.mkdir()
        (bin_dir / "aws").write_text(FAKE_AWS)
        (bin_dir / "aws").chmod(0o755)
        log = pathlib.Path(tmp) / "calls"
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_AWS_LOG=str(log), FAKE_BUCKET=str(BUCKET),
                   PUBLISHED=str(PUBLISHED))
        env.update({k: v for k, v in variables.items() if k.startswith("FAKE_")})
        args = [f"{k}={v}" for k, v in variables.items() if not k.startswith("FAKE_")]
        done = subprocess.run(["make", "--no-print-directory", target, "REGION=eu-west-1", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return done.returncode, done.stderr + done.stdout, calls


def publish(bootstrap=b"\x7fELF release 1"):
    """scripts/publish.sh in a scratch copy of the project with dist/ zips holding `bootstrap`;
    returns (exit code, output, recorded calls)."""
    project = SCRATCH / "project"
    (project / "dist").mkdir(parents=True, exist_ok=True)
    (project / "template").mkdir(exist_ok=True)
    shutil.copy(ROOT / "template" / "roles.yaml", project / "template" / "roles.yaml")
    for function in ["random-ext-id", "veeam-configurator", "vbaws-reconciler"]:
        with zipfile.ZipFile(project / "dist" / f"{function}.zip", "w") as z:
            z.writestr("bootstrap", bootstrap + function.encode())
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = pathlib.Path(tmp)
        (bin_dir / "aws").write_text(FAKE_AWS)
        (bin_dir / "aws").chmod(0o755)
        log = bin_dir / "calls"
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_AWS_LOG=str(log), FAKE_BUCKET=str(BUCKET),
                   PUBLISHED=str(PUBLISHED))
        done = subprocess.run([str(ROOT / "scripts" / "publish.sh"), "artifacts", "eu-west-1"], cwd=project, env=env,
                              capture_output=True, text=True)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return done.returncode, done.stdout + done.stderr, calls


def manifest():
    return dict(line.split("=", 1) for line in PUBLISHED.read_text().splitlines() if "=" in line and not line.startswith("#"))


def check(name, condition, detail):
    results.append(condition)
    print(f"{'ok  ' if condition else 'FAIL'} {name}" + ("" if condition else f"\n     {detail}"))


def parameters(calls, command):
    call = next(c for c in calls if command in c)
    return call[call.index("--parameters") + 1:]


code, out, calls = make("deploy-stackset", OU="ou-ab12-cdef3456", APPLIANCE_ROLE_ARN="arn:aws:iam::111111111111:role/V",
                        RANDOM_EXT_ID_ARN=EXT_ID, CONFIGURATOR_ARN=CONFIGURATOR, CONFIGURATOR_ROLE_ARN="arn:aws:iam::111111111111:role/C")
check("before make publish, deploy-stackset stops: roles.yaml is too large to send inline",
      code == 2 and "make publish" in out and not any("create-stack-set" in c for c in calls), (code, out, calls))

code, out, calls = publish()
uploads = [c for c in calls if c[:2] == ["s3", "cp"]]
roles_digest = hashlib.sha256((ROOT / "template" / "roles.yaml").read_bytes()).hexdigest()[:16]
check("make publish uploads each artifact under a key named after its content, and says so in the manifest",
      code == 0 and len(uploads) == 4 and manifest()["ROLES_TEMPLATE_URL"]
      == f"https://artifacts.s3.eu-west-1.amazonaws.com/roles-{roles_digest}.yaml"
      and manifest()["CONFIGURATOR_KEY"].startswith("veeam-configurator-") and manifest()["PUBLISHED_BUCKET"] == "artifacts",
      (code, out, calls))
first = manifest()
code, out, calls = publish()
check("publishing an unchanged build uploads nothing and names the same keys",
      code == 0 and not any(c[:2] == ["s3", "cp"] for c in calls) and manifest() == first, (code, out, calls))
code, out, calls = publish(b"\x7fELF release 2")
check("a changed build gets new keys, so CloudFormation sees a change",
      code == 0 and len([c for c in calls if c[:2] == ["s3", "cp"]]) == 3
      and manifest()["CONFIGURATOR_KEY"] != first["CONFIGURATOR_KEY"]
      and manifest()["ROLES_TEMPLATE_URL"] == first["ROLES_TEMPLATE_URL"], (code, out, calls))

code, out, calls = make("deploy-stackset", OU="ou-ab12-cdef3456", APPLIANCE_ROLE_ARN="arn:aws:iam::111111111111:role/V")
check("without the function ARNs, deploy-stackset stops before calling CloudFormation",
      code == 2 and "RANDOM_EXT_ID_ARN is empty" in out and "BACKUP_PROFILE" in out and not calls, (code, out, calls))

code, out, calls = make("deploy-stackset", OU="ou-ab12-cdef3456", APPLIANCE_ROLE_ARN="arn:aws:iam::111111111111:role/V",
                        BACKUP_PROFILE="backup", FAKE_RandomExtIdFunctionArn=EXT_ID,
                        FAKE_VeeamConfiguratorFunctionArn=CONFIGURATOR, FAKE_ConfiguratorRoleArn=CONFIGURATOR_ROLE)
reads = [c for c in calls if "describe-stacks" in c]
writes = [c for c in calls if "describe-stacks" not in c]
check("BACKUP_PROFILE reads the ARNs in the backup account and creates the StackSet with them",
      code == 0 and len(reads) == 3 and all(c[c.index("--profile") + 1] == "backup" for c in reads)
      and f"ParameterKey=ConfiguratorRoleArn,ParameterValue={CONFIGURATOR_ROLE}" in parameters(calls, "create-stack-set")
      and "ParameterKey=EventReaderRoleName,ParameterValue=vbaws-event-reader" in parameters(calls, "create-stack-set")
      and all("--profile" not in c for c in writes)
      and f"ParameterKey=RandomExtIdFunctionArn,ParameterValue={EXT_ID}" in parameters(calls, "create-stack-set")
      and f"ParameterKey=VeeamConfiguratorFunctionArn,ParameterValue={CONFIGURATOR}" in parameters(calls, "create-stack-set")
      and "ParameterKey=HomeRegion,ParameterValue=eu-west-1" in parameters(calls, "create-stack-set")
      and next(c for c in calls if "create-stack-set" in c)[
          next(c for c in calls if "create-stack-set" in c).index("--template-url") + 1] == manifest()["ROLES_TEMPLATE_URL"],
      (code, out, calls))

code, out, calls = make("deploy-stackset", OU="ou-ab12-cdef3456", APPLIANCE_ROLE_ARN="arn:aws:iam::111111111111:role/V",
                        BACKUP_PROFILE="backup")
check("a Lambdas stack without the outputs stops with a message naming the stack",
      code == 2 and "vbaws-lambdas" in out and not any("create-stack-set" in c for c in calls), (code, out, calls))

code, out, calls = make("deploy-stackset", OU="ou-ab12-cdef3456", APPLIANCE_ROLE_ARN="arn:aws:iam::111111111111:role/V",
                        RANDOM_EXT_ID_ARN=EXT_ID, CONFIGURATOR_ARN=CONFIGURATOR)
check("without the configurator's role, deploy-stackset stops before calling CloudFormation",
      code == 2 and "CONFIGURATOR_ROLE_ARN is empty" in out and not calls, (code, out, calls))

code, out, calls = make("deploy-stackset", OU="ou-ab12-cdef3456", APPLIANCE_ROLE_ARN="arn:aws:iam::111111111111:role/V",
                        RANDOM_EXT_ID_ARN=EXT_ID.replace("eu-west-1", "us-east-1"), CONFIGURATOR_ARN=CONFIGURATOR,
                        CONFIGURATOR_ROLE_ARN=CONFIGURATOR_ROLE)
check("a function in another Region is refused (a ServiceToken must be in the stack's Region)",
      code == 2 and "us-east-1" in out and not calls, (code, out, calls))

code, out, calls = make("update-stackset", FAKE_STACKSET_PARAMETERS=CURRENT)
update = parameters(calls, "update-stack-set") if code == 0 else []
check("update-stackset without values keeps every previous value (no rotation, no OnDelete reset)",
      code == 0 and "ParameterKey=ExternalIdRotation,UsePreviousValue=true" in update
      and "ParameterKey=OnDelete,UsePreviousValue=true" in update
      and "ParameterKey=VeeamApplianceRoleArn,UsePreviousValue=true" in update
      and "ParameterKey=RandomExtIdFunctionArn,UsePreviousValue=true" in update
      and "ParameterKey=ConfiguratorRoleArn,UsePreviousValue=true" in update
      and not any("ParameterValue=initial" in p or "ParameterValue=Remove" in p for p in update), (code, out, calls))

code, out, calls = make("update-stackset", ROTATION="2026-12", ON_DELETE="Retain", FAKE_STACKSET_PARAMETERS=CURRENT)
update = parameters(calls, "update-stack-set") if code == 0 else []
check("update-stackset changes exactly the parameters it is given",
      code == 0 and "ParameterKey=ExternalIdRotation,ParameterValue=2026-12" in update
      and "ParameterKey=OnDelete,ParameterValue=Retain" in update
      and "ParameterKey=VeeamApplianceRoleArn,UsePreviousValue=true" in update, (code, out, calls))

code, out, calls = make("update-stackset", FAKE_STACKSET_PARAMETERS=CURRENT)
update = parameters(calls, "update-stack-set") if code == 0 else []
check("update-stackset without SERVICES keeps the StackSet's services",
      code == 0 and "ParameterKey=Services,UsePreviousValue=true" in update, (code, out, calls))

code, out, calls = make("update-stackset", FAKE_STACKSET_PARAMETERS="ConfiguratorRoleArn")
update = parameters(calls, "update-stack-set") if code == 0 else []
check("a StackSet from before the Services parameter keeps protecting EC2 (it has no previous value to use)",
      code == 0 and "ParameterKey=Services,ParameterValue=ec2" in update, (code, out, calls))

code, out, calls = make("update-stackset", FAKE_STACKSET_PARAMETERS="Services")
check("a StackSet from before the event reader role needs the configurator's role to be updated",
      code == 2 and "CONFIGURATOR_ROLE_ARN is empty" in out and not any("update-stack-set" in c for c in calls),
      (code, out, calls))

code, out, calls = make("update-stackset", FAKE_STACKSET_PARAMETERS="Services", BACKUP_PROFILE="backup",
                        FAKE_RandomExtIdFunctionArn=EXT_ID, FAKE_VeeamConfiguratorFunctionArn=CONFIGURATOR,
                        FAKE_ConfiguratorRoleArn=CONFIGURATOR_ROLE)
update = parameters(calls, "update-stack-set") if code == 0 else []
check("with BACKUP_PROFILE, that update reads the role from the Lambdas stack",
      code == 0 and f"ParameterKey=ConfiguratorRoleArn,ParameterValue={CONFIGURATOR_ROLE}" in update, (code, out, calls))

code, out, calls = make("update-stackset", SERVICES="ec2,rds,efs", FAKE_STACKSET_PARAMETERS=CURRENT)
update = parameters(calls, "update-stack-set") if code == 0 else []
check("SERVICES reaches CloudFormation as one list (the shorthand's commas escaped)",
      code == 0 and "ParameterKey=Services,ParameterValue=ec2\\,rds\\,efs" in update, (code, out, calls))

code, out, calls = make("update-stackset", WORKER_NETWORK="Parameters", FAKE_STACKSET_PARAMETERS=CURRENT)
update = parameters(calls, "update-stack-set") if code == 0 else []
check("WORKER_NETWORK=Parameters turns the production worker configuration on, and nothing else about workers",
      code == 0 and "ParameterKey=WorkerNetwork,ParameterValue=Parameters" in update
      and not any(p.startswith("ParameterKey=WorkerSubnetParameter") for p in update), (code, out, calls))

code, out, calls = make("update-stackset", FAKE_STACKSET_PARAMETERS=CURRENT + " WorkerNetwork WorkerSubnetParameter")
update = parameters(calls, "update-stack-set") if code == 0 else []
check("a later update without it keeps the workers' parameters (omitted, they would fall back to None and remove every configuration)",
      code == 0 and "ParameterKey=WorkerNetwork,UsePreviousValue=true" in update
      and "ParameterKey=WorkerSubnetParameter,UsePreviousValue=true" in update, (code, out, calls))

BACKUP = dict(BUCKET="artifacts", APPLIANCE_IP="10.0.1.20", CERT_SHA256="AB:CD", VPC="vpc-1", SUBNETS="subnet-1",
              ORG_ID="o-abcdefghij", S3_PATH="Nat", SECRETS_PATH="Nat", STS_PATH="CreateEndpoint",
              CLOUDFORMATION_PATH="CreateEndpoint")


def overrides(calls):
    call = next(c for c in calls if "deploy" in c)
    return call[call.index("--parameter-overrides") + 1:]


code, out, calls = make("deploy-lambdas", **{k: v for k, v in BACKUP.items() if k != "STS_PATH"})
check("deploy-lambdas names a missing path before calling CloudFormation",
      code == 2 and "STS_PATH is required" in out and not calls, (code, out, calls))

code, out, calls = make("deploy-lambdas", **{**BACKUP, "BUCKET": "another-bucket"})
check("deploy-lambdas refuses to deploy what was published to another bucket",
      code == 2 and "another-bucket" in out and not calls, (code, out, calls))

code, out, calls = make("deploy-lambdas", **BACKUP, EVENT_CONFIRMATION="Enforce", APPLIANCE_SG="sg-appliance")
given = overrides(calls) if code == 0 else []
check("deploy-lambdas passes what it is given and what was published, the template by S3 (over 51,200 bytes)",
      code == 0 and "EventConfirmation=Enforce" in given and "ApplianceSecurityGroupId=sg-appliance" in given
      and "StsPath=CreateEndpoint" in given and f"ConfiguratorKey={manifest()['CONFIGURATOR_KEY']}" in given
      and f"RolesTemplateUrl={manifest()['ROLES_TEMPLATE_URL']}" in given
      and "--s3-bucket" in next(c for c in calls if "deploy" in c), (code, out, calls))

policy = next((c for c in calls if "set-stack-policy" in c), [])
check("deploy-lambdas then sets the stack policy that keeps the generated secret (and its password) as it is",
      policy[policy.index("--stack-policy-body") + 1:][:1] == ["file://template/lambdas-stack-policy.json"]
      if policy else False, calls)

code, out, calls = make("deploy-lambdas", **BACKUP)
given = overrides(calls) if code == 0 else []
check("deploy-lambdas again with fewer variables passes nothing for the rest (their values stay)",
      code == 0 and not any(p.split("=")[0] in ("EventConfirmation", "ApplianceSecurityGroupId", "Reconciler",
                                                "AlarmEmail", "SecretsManagerEndpointSecurityGroupId")
                            for p in given), (code, out, calls))

# The stand-in refuses what AWS refuses: the command of earlier releases, roles.yaml inline.
with tempfile.TemporaryDirectory() as tmp:
    done = subprocess.run([sys.executable, str(STANDIN), "cloudformation", "create-stack-set",
                           "--stack-set-name", "vbaws-veeam-roles",
                           "--template-body", f"file://{ROOT / 'template' / 'roles.yaml'}"],
                          env=dict(os.environ, FAKE_AWS_LOG=str(pathlib.Path(tmp) / "log"), FAKE_BUCKET=str(BUCKET)),
                          capture_output=True, text=True)
    check("the stand-in aws refuses a template body over 51,200 bytes, as CreateStackSet does",
          done.returncode != 0 and "51200" in done.stderr, (done.returncode, done.stderr))

# ... and what the CLI's service model refuses (aws_model.py), as AWS would.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import aws_model  # noqa: E402

for argv, expected in [
    (["cloudformation", "create-stack-set", "--stack-set-name", "roles", "--permission-model", "SERVICE"],
     "is not one of"),
    (["cloudformation", "create-stack-set", "--permission-model", "SERVICE_MANAGED"], "--stack-set-name is required"),
    (["cloudformation", "create-stack-set", "--stack-set-name", "roles", "--execution-role-name", "bad name"],
     "does not match"),
    (["cloudformation", "update-stack-set", "--stack-set-name", "roles", "--auto-deployment", "Enable=true"],
     "no member Enable"),
    (["cloudformation", "create-stack-instances", "--stack-set-name", "roles", "--regions", "eu-west-1",
      "--deployment-targets", "OrganizationalUnitIds=ou-a", "--call-as", "ADMIN"], "is not one of"),
    (["cloudformation", "create-stack-set", "--stack-set-name", "roles", "--template-urls", "x"], "not an option"),
    (["cloudformation", "deploy", "--template-file", "t.yaml"], "--stack-name is required"),
    (["cloudformation", "describe-stack-sets"], "no such operation"),
]:
    problems = aws_model.validate(argv)
    check(f"the service model refuses {' '.join(argv[:2])} ({expected})",
          any(expected in p for p in problems), problems)
check("the service model takes the calls the commands make",
      aws_model.validate(["cloudformation", "create-stack-set", "--region", "eu-west-1", "--call-as", "SELF",
                          "--stack-set-name", "vbaws-veeam-roles", "--template-url", "https://b.s3.amazonaws.com/r.yaml",
                          "--capabilities", "CAPABILITY_NAMED_IAM", "--permission-model", "SERVICE_MANAGED",
                          "--auto-deployment", "Enabled=true,RetainStacksOnAccountRemoval=false",
                          "--managed-execution", "Active=true",
                          "--parameters", "ParameterKey=Services,ParameterValue=ec2\\,rds"]) == [], "")

passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)

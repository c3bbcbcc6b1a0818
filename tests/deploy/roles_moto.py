"""Rolls template/roles.yaml (every service, the production worker configuration too) out to a mocked AWS Organization's OU and lands its IAM resources in
each member account of moto, with the custom resources answered by the real functions.

moto's own CloudFormation cannot run this template: it creates the roles before the custom
resources answer, with Fn::GetAtt resolved to nothing, so the trust policies would lose their
external IDs. So the organization, its OU, its accounts and IAM are moto's, and CloudFormation
is played by the project's player (target/debug/vbaws-demo) against the real function binaries
and the appliance simulator. The IAM documents it resolved are then created in each account
through moto's IAM API, which validates them, and checked.

Run by `make deploy-check` (part of `make test`).
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile

import boto3

import local_moto

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO = ROOT / "target" / "debug" / "vbaws-demo"
APPLIANCE_ROLE = "arn:aws:iam::111111111111:role/VeeamBackupInstance"
# The configurator's execution role in the demo's world (vbaws_testkit::CONFIGURATOR_ROLE_ARN).
CONFIGURATOR_ROLE = "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B3C4D"
# Every service roles.yaml offers: each role lands in each member account.
SERVICES = "ec2,rds,efs,dynamodb,fsx,redshift,redshift-serverless,vpc"


def organization(kw, members):
    org = boto3.client("organizations", **kw)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="protected")["OrganizationalUnit"]["Id"]
    for i in range(members):
        account = org.create_account(Email=f"member{i}@example.com", AccountName=f"member{i}")["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    return [a["Id"] for a in org.list_accounts_for_parent(ParentId=ou)["Accounts"]]


def iam_in(kw, account):
    creds = boto3.client("sts", **kw).assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="stacksets")["Credentials"]
    return boto3.client("iam", endpoint_url=kw["endpoint_url"], region_name=kw["region_name"], aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def land(iam, resources):
    """Creates the recorded resources as CloudFormation would: roles, then policies, then profiles."""
    for logical, kind, props in sorted(resources, key=lambda r: ["AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile"].index(r[1])):
        if kind == "AWS::IAM::Role":
            iam.create_role(RoleName=props["RoleName"], Path=props.get("Path", "/"), Description=props.get("Description", ""),
                            AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
            for inline in props.get("Policies", []):
                iam.put_role_policy(RoleName=props["RoleName"], PolicyName=inline["PolicyName"],
                                    PolicyDocument=json.dumps(inline["PolicyDocument"]))
        elif kind == "AWS::IAM::ManagedPolicy":
            arn = iam.create_policy(PolicyName=logical, Path=props.get("Path", "/"), Description=props.get("Description", "")[:1000],
                                    PolicyDocument=json.dumps(props["PolicyDocument"]))["Policy"]["Arn"]
            for role in props.get("Roles", []):
                iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        elif kind == "AWS::IAM::InstanceProfile":
            iam.create_instance_profile(InstanceProfileName=props["InstanceProfileName"], Path=props.get("Path", "/"))
            for role in props.get("Roles", []):
                iam.add_role_to_instance_profile(InstanceProfileName=props["InstanceProfileName"], RoleName=role)
        else:
            raise SystemExit(f"unexpected resource type {kind}")


def main():
    proc, url = local_moto.start()
    problems = []
    try:
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        accounts = organization(kw, members=3)
        out = pathlib.Path(tempfile.mkdtemp()) / "resources.json"
        run = subprocess.run([str(DEMO), "--account-ids", ",".join(accounts), "--rollout-only", "--services", SERVICES, "--workers",
                              "--aws-resources-out", str(out)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            sys.exit(f"the rollout failed:\n{run.stdout}\n{run.stderr}")
        resources = json.loads(out.read_text())
        for account in accounts:
            iam = iam_in(kw, account)
            land(iam, resources[account])
            ids = []
            # The appliance's roles; the event reader role is the configurator's, checked below.
            roles = [props["RoleName"] for logical, kind, props in resources[account]
                     if kind == "AWS::IAM::Role" and logical != "EventReaderRole"]
            if len(roles) != len(SERVICES.split(",")) + 2:
                problems.append(f"{account}: {len(roles)} roles for the services {SERVICES} (and the worker and worker-configuration roles)")
            for role in roles:
                trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
                if isinstance(trust, str):
                    trust = json.loads(trust)
                appliance = [s for s in trust["Statement"] if s.get("Principal", {}).get("AWS") == APPLIANCE_ROLE]
                external = appliance[0].get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId", "") if appliance else ""
                if not re.fullmatch(r"[A-Za-z0-9]{32}", external):
                    problems.append(f"{account}: {role} trusts the appliance without a 32-character external ID ({external!r})")
                ids.append(external)
                attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
                expected = sum(1 for _, kind, props in resources[account]
                               if kind == "AWS::IAM::ManagedPolicy" and role in props.get("Roles", []))
                if len(attached) != expected or expected < 1:
                    problems.append(f"{account}: {role} has {len(attached)} managed policies, expected {expected}")
            if len(set(ids)) != len(roles):
                problems.append(f"{account}: roles share an external ID")
            profile = iam.get_instance_profile(InstanceProfileName="VeeamWorkerRole")["InstanceProfile"]
            if [r["RoleName"] for r in profile["Roles"]] != ["VeeamWorkerRole"]:
                problems.append(f"{account}: the instance profile does not hold the worker role")
            restore = next(p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == "Ec2RestorePolicy")
            document = iam.get_policy_version(PolicyArn=restore["Arn"], VersionId=restore["DefaultVersionId"])["PolicyVersion"]["Document"]
            if isinstance(document, str):
                document = json.loads(document)
            passing = [s for s in document["Statement"] if s.get("Action") == "iam:PassRole"]
            # A restore passes the instance's own role: roles of this account, to EC2 only.
            bound = [(s.get("Resource"), s.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService"))
                     for s in passing]
            if bound != [(f"arn:aws:iam::{account}:role/*", "ec2.amazonaws.com")]:
                problems.append(f"{account}: iam:PassRole is not roles of this account to EC2 only: {passing}")
            # The worker-configuration role only lists networks: the appliance assumes it, no instance does.
            lister = iam.get_role(RoleName="VeeamWorkerConfigurationRole")["Role"]["AssumeRolePolicyDocument"]
            if isinstance(lister, str):
                lister = json.loads(lister)
            if [s.get("Principal") for s in lister["Statement"]] != [{"AWS": APPLIANCE_ROLE}]:
                problems.append(f"{account}: the worker-configuration role trusts more than the appliance: {lister}")
            reader = iam.get_role(RoleName="vbaws-event-reader")["Role"]["AssumeRolePolicyDocument"]
            if isinstance(reader, str):
                reader = json.loads(reader)
            pinned = [s.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn") for s in reader["Statement"]]
            if pinned != [CONFIGURATOR_ROLE]:
                problems.append(f"{account}: the event reader role trusts {pinned}, not the configurator's role alone")
            reading = iam.get_role_policy(RoleName="vbaws-event-reader", PolicyName="read-this-stack")["PolicyDocument"]
            if isinstance(reading, str):
                reading = json.loads(reading)
            targets = [s["Resource"] for s in reading["Statement"]]
            if len(targets) != 1 or f":{account}:stack/" not in targets[0]:
                problems.append(f"{account}: the event reader role reads {targets}, not its own stack alone")
            policies = sum(1 for _, kind, _ in resources[account] if kind == "AWS::IAM::ManagedPolicy")
            print(f"{account}: {len(roles)} roles with distinct external IDs, {policies} policies, 1 instance profile, "
                  "the event reader role")
    finally:
        proc.kill()
    for problem in problems:
        print("PROBLEM:", problem)
    failed = len({p.split(":")[0] for p in problems})
    print(f"{len(accounts) - failed} passed, {failed} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

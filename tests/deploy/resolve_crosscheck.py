"""The template player's resolution, checked against an evaluator no one here wrote: cloud-radar
(PyPI), which renders a template for given parameters (conditions, Ref, Fn::GetAtt, Fn::Sub,
Fn::If, Fn::Join, Fn::Split, Fn::Select, Fn::FindInMap, pseudo parameters) and drops what a
condition leaves out.

For each template and each parameter set the Rust tests deploy it with, `vbaws-resolve` prints
what the player resolves; cloud-radar renders the same template with the same parameters,
Region, account and stack; every resource that exists, its type, its properties, and every
output must be the same. Both read a resource's Ref as its logical ID and Fn::GetAtt as
`Resource.Attribute`, so only the evaluation differs.

Run by `make deploy-check` (part of `make test`).
"""

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys

from cloud_radar.cf.unit import Template

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESOLVE = pathlib.Path(os.environ.get("VBAWS_RESOLVE", ROOT / "target" / "debug" / "vbaws-resolve"))
ACCOUNT = "111111111111"

# The Lambdas stack: lambdas.rs's WORKING deployment and its variants (tests/lambdas.rs).
# IDs in AWS's shapes: cloud-radar checks AWS-specific parameter types against them, as
# CloudFormation does (it also checks that they exist).
VPC, SUBNETS = "vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719"
LAMBDAS_WORKING = {
    "ArtifactBucket": "artifacts", "ApplianceAddress": "10.0.1.20", "VpcId": VPC,
    "SubnetIds": SUBNETS, "OrganizationId": "o-abcdefghij", "S3Path": "CreateGatewayEndpoint",
    "S3GatewayRouteTableIds": "rtb-0a1b2c3d4e5f60718", "SecretsManagerPath": "CreateEndpoint", "StsPath": "CreateEndpoint",
    "CloudFormationPath": "Nat",
}
# Without a NAT path, S3's prefix list (a rule asks for it).
PRIVATE = {"StsPath": "ExistingEndpoint", "CloudFormationPath": "ExistingEndpoint", "S3PrefixListId": "pl-63a5400a",
           "ExistingEndpointsSecurityGroupId": "sg-0a1b2c3d4e5f60719"}
# The roles stack: the parameters the demo's StackSet and the consistency test give it.
ROLES = {
    "HomeRegion": "us-east-1", "VeeamApplianceRoleArn": "arn:aws:iam::111111111111:role/VeeamBackupInstance",
    "RandomExtIdFunctionArn": "arn:aws:lambda:us-east-1:111111111111:function:vbaws-random-ext-id",
    "VeeamConfiguratorFunctionArn": "arn:aws:lambda:us-east-1:111111111111:function:vbaws-veeam-configurator",
    "ConfiguratorRoleArn": "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B3C4D",
}
CASES = [
    ("the Lambdas stack, new endpoints", "lambdas.yaml", "eu-west-1", "vbaws-lambdas", LAMBDAS_WORKING),
    ("the Lambdas stack, S3 through a NAT", "lambdas.yaml", "eu-west-1", "vbaws-lambdas",
     {**LAMBDAS_WORKING, "S3Path": "Nat", "S3GatewayRouteTableIds": ""}),
    ("the Lambdas stack, private, existing endpoints, the reconciler fixing", "lambdas.yaml", "us-east-1", "vbaws-lambdas",
     {**LAMBDAS_WORKING, **PRIVATE, "SecretsManagerPath": "ExistingEndpoint",
      "SecretsManagerEndpointSecurityGroupId": "sg-0a1b2c3d4e5f60718",
      "Reconciler": "ReportAndFix", "ReconcilerOrganizationalUnitIds": "ou-ab12-cccccccc",
      "OrganizationsPath": "ExistingEndpoint", "ApplianceSecurityGroupId": "sg-0a1b2c3d4e5f6071a", "AlarmEmail": "ops@example.com"}),
    ("the Lambdas stack with its StackSet, a layer of its own, reserved concurrency", "lambdas.yaml", "eu-west-1",
     "vbaws-lambdas", {**LAMBDAS_WORKING, "TargetOrganizationalUnitIds": "ou-ab12-aaaaaaaa,ou-ab12-bbbbbbbb", "Reconciler": "Report",
      "RolesTemplateUrl": "https://artifacts.s3.eu-west-1.amazonaws.com/roles-1111111111111111.yaml",
      "VeeamApplianceRoleArn": "arn:aws:iam::111111111111:role/VeeamBackupInstance", "ReservedConcurrency": "5",
      "ExtensionLayerArn": "arn:aws:lambda:eu-west-1:123456789012:layer:custom:1"}),
    ("the roles stack, EC2", "roles.yaml", "us-east-1", "StackSet-vbaws-veeam-roles-0a1b2c3d", ROLES),
    ("the roles stack, every service", "roles.yaml", "us-east-1", "StackSet-vbaws-veeam-roles-0a1b2c3d",
     {**ROLES, "Services": "ec2,rds,efs,dynamodb,fsx,redshift,redshift-serverless,vpc"}),
    ("the roles stack, RDS and VPC, a role path, retained, rotated", "roles.yaml", "eu-central-1",
     "StackSet-vbaws-veeam-roles-0a1b2c3d", {**ROLES, "HomeRegion": "eu-central-1", "Services": "rds,vpc", "RolePath": "/veeam/", "OnDelete": "Retain",
      "ExternalIdRotation": "2026-12"}),
    # worker_network_moto.py's deployments.
    ("the worker network, everything", "worker-network.yaml", "eu-west-1", "vbaws-workers",
     {"VpcId": VPC, "VpcCidr": "10.0.0.0/16", "SubnetIds": SUBNETS, "Ec2Backup": "true",
      "Ec2RestoreArchiveRetention": "true", "RdsOrEfs": "true", "FileLevelRecoveryToOriginal": "true",
      "CreateS3InterfaceEndpoint": "true", "ApplianceAddress": "10.0.1.20/32", "WorkerVpcCidr": "10.0.0.0/16"}),
    ("the worker network, restore only", "worker-network.yaml", "us-east-1", "vbaws-workers",
     {"VpcId": VPC, "VpcCidr": "10.0.0.0/16", "SubnetIds": SUBNETS, "Ec2Backup": "false",
      "Ec2RestoreArchiveRetention": "true", "RdsOrEfs": "false", "FileLevelRecoveryToOriginal": "false"}),
    ("the worker network, published for the roles StackSet", "worker-network.yaml", "eu-central-1", "vbaws-workers",
     {"VpcId": VPC, "VpcCidr": "10.0.0.0/16", "SubnetIds": SUBNETS, "Ec2Backup": "true",
      "PublishWorkerParameters": "true", "WorkerAvailabilityZone": "eu-central-1a"}),
]


def ours(template, region, stack, parameters):
    done = subprocess.run([str(RESOLVE), str(ROOT / "template" / template), region, ACCOUNT, stack,
                           *[f"{k}={v}" for k, v in parameters.items()]], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return json.loads(done.stdout)


def theirs(template, region, stack, parameters, stack_id):
    Template.AccountId = ACCOUNT
    Template.StackName = stack
    # cloud-radar prints the template object as it loads it.
    with contextlib.redirect_stdout(io.StringIO()):
        rendered = Template.from_yaml(ROOT / "template" / template)
        rendered.StackId = stack_id
        out = rendered.render(dict(parameters), region=region)
    resources = {name: {"Type": r["Type"], "Properties": r.get("Properties", {})}
                 for name, r in out["Resources"].items()}
    outputs = {name: o["Value"] for name, o in out.get("Outputs", {}).items()}
    return json.loads(json.dumps({"resources": resources, "outputs": outputs}))


def normal(value):
    """Scalars as CloudFormation passes them to a resource: strings (YAML's 443 and "443" are
    the same property value). cloud-radar stands for AWS::NoValue with an empty string, which it
    then drops from objects but keeps in lists, where CloudFormation drops the item: so empty
    strings are dropped everywhere, on both sides, and a resource without properties has an
    empty object of them."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [normal(v) for v in value if v != ""]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    return value


def differences(path, a, b, found):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                found.append(f"{path}.{key}: {'only cloud-radar' if key in b else 'only the player'} has it")
            else:
                differences(f"{path}.{key}", a[key], b[key], found)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            found.append(f"{path}: the player has {len(a)} items, cloud-radar {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            differences(f"{path}[{i}]", x, y, found)
    elif a != b:
        found.append(f"{path}: the player has {json.dumps(a)[:200]}, cloud-radar {json.dumps(b)[:200]}")


failures = 0
for name, template, region, stack, parameters in CASES:
    try:
        player = ours(template, region, stack, parameters)
        radar = theirs(template, region, stack, parameters, player["stack_id"])
    except Exception as error:  # noqa: BLE001 - either evaluator refusing is a failure to report
        failures += 1
        print(f"FAIL {name}\n     {error}")
        continue
    found = []
    differences("Resources", normal(player["resources"]), normal(radar["resources"]), found)
    differences("Outputs", normal(player["outputs"]), normal(radar["outputs"]), found)
    if found:
        failures += 1
        print(f"FAIL {name}\n     " + "\n     ".join(found[:20]))
    else:
        print(f"ok   {name}: {len(player['resources'])} resources, {len(player['outputs'])} outputs agree")
print(f"{len(CASES) - failures} agreed, {failures} differed")
sys.exit(1 if failures else 0)

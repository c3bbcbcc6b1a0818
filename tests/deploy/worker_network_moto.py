"""Deploys template/worker-network.yaml into moto's CloudFormation and checks what it creates.

Run by `make deploy-check` (part of `make test`) with the project's .venv. It starts its own moto
server on a free port of 127.0.0.1, and exits non-zero when the endpoints or security groups
differ from what Veeam's guide requires for the chosen operations.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import boto3

import local_moto

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "template" / "worker-network.yaml").read_text()
APPLIANCE = "192.168.100.10/32"


def deploy(cfn, name, parameters):
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE, Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    for _ in range(100):
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            return status
        time.sleep(0.1)
    return "TIMEOUT"


def guide_example_checked_by_netcheck(ec2, cfn, url):
    """The guide's first example, its worker and repository VPCs set up by the template, checked
    by `vbaws-netcheck --collect` against the same moto: no error may be found."""
    vpcs = {}
    for name, cidr, subnet_cidr in (("worker", "10.0.0.0/16", "10.0.1.0/24"), ("repository", "11.0.0.0/16", "11.0.1.0/24"),
                                    ("appliance", "192.168.100.0/24", "192.168.100.0/24")):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
            ec2.modify_vpc_attribute(VpcId=vpc, **{attribute: {"Value": True}})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
        vpcs[name] = (vpc, cidr, subnet)
    worker, repository, appliance = vpcs["worker"], vpcs["repository"], vpcs["appliance"]
    statuses = [
        deploy(cfn, "netcheck-worker", {"VpcId": worker[0], "VpcCidr": worker[1], "SubnetIds": worker[2], "Ec2Backup": "true",
                                          "Ec2RestoreArchiveRetention": "true"}),
        deploy(cfn, "netcheck-repository", {"VpcId": repository[0], "VpcCidr": repository[1], "SubnetIds": repository[2],
                                              "Ec2Backup": "false", "Ec2RestoreArchiveRetention": "false", "CreateS3InterfaceEndpoint": "true",
                                              "ApplianceAddress": APPLIANCE, "WorkerVpcCidr": worker[1]}),
    ]
    if statuses != ["CREATE_COMPLETE", "CREATE_COMPLETE"]:
        return [f"netcheck: the stacks ended {statuses}"]
    # Peerings and routes, in each VPC's main route table (the subnets use it).
    def main_table(vpc):
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}])
        return tables["RouteTables"][0]["RouteTableId"]
    for (a, b, to_b, to_a) in ((worker, repository, repository[1], worker[1]), (appliance, repository, repository[1], APPLIANCE)):
        pcx = ec2.create_vpc_peering_connection(VpcId=a[0], PeerVpcId=b[0])["VpcPeeringConnection"]["VpcPeeringConnectionId"]
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        ec2.create_route(RouteTableId=main_table(a[0]), DestinationCidrBlock=to_b, VpcPeeringConnectionId=pcx)
        ec2.create_route(RouteTableId=main_table(b[0]), DestinationCidrBlock=to_a, VpcPeeringConnectionId=pcx)
    work = pathlib.Path(tempfile.mkdtemp())
    roles = work / "roles.yaml"
    roles.write_text(
        "operations: [ec2-backup, ec2-restore]\n"
        f"appliance_address: {APPLIANCE}\n"
        f"roles:\n  {worker[0]}: worker\n  {repository[0]}: standard-repository\n  {appliance[0]}: appliance\n"
        "accounts:\n  - { name: backup, regions: [us-east-1] }\n"
    )
    env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    env.pop("AWS_PROFILE", None)
    run = subprocess.run([str(ROOT / "target" / "debug" / "vbaws-netcheck"), "--collect", str(work / "snapshot"), "--roles", str(roles)],
                         env=env, capture_output=True, text=True)
    shutil.rmtree(work, ignore_errors=True)
    print(run.stdout, end="")
    if run.returncode != 0:
        return [f"netcheck: vbaws-netcheck --collect exited {run.returncode}: {run.stdout} {run.stderr}"]
    return []


def published_for_the_roles_stackset(ec2, cfn, ssm):
    """With PublishWorkerParameters, the stack writes the four SSM parameters the roles StackSet
    reads (WorkerNetwork Parameters) under their default names: the first subnet is the workers'."""
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.2.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "b"), (2, "c"))]
    status = deploy(cfn, "published", {"VpcId": vpc, "VpcCidr": "10.2.0.0/16", "SubnetIds": ",".join(subnets), "Ec2Backup": "true",
                                       "PublishWorkerParameters": "true", "WorkerAvailabilityZone": "us-east-1b"})
    if status != "CREATE_COMPLETE":
        return [f"published: the stack ended {status}"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="published")["Stacks"][0]["Outputs"]}
    names = {leaf: f"/vbaws/workers/{leaf}" for leaf in ("availability-zone", "vpc-id", "subnet-id", "security-group-id")}
    found = {p["Name"]: p["Value"] for p in ssm.get_parameters(Names=list(names.values()))["Parameters"]}
    wanted = {names["availability-zone"]: "us-east-1b", names["vpc-id"]: vpc, names["subnet-id"]: subnets[0],
              names["security-group-id"]: outputs["WorkerSecurityGroupId"]}
    if found != wanted:
        return [f"published: SSM parameters {found}, expected {wanted}"]
    print(f"published: {status}, {len(found)} SSM parameters for the roles StackSet")
    return []


def main():
    proc, url = local_moto.start()
    problems = []
    try:
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        ec2, cfn = boto3.client("ec2", **kw), boto3.client("cloudformation", **kw)
        cases = [
            ("everything", {"Ec2Backup": "true", "Ec2RestoreArchiveRetention": "true", "RdsOrEfs": "true", "FileLevelRecoveryToOriginal": "true",
                            "CreateS3InterfaceEndpoint": "true", "ApplianceAddress": APPLIANCE, "WorkerVpcCidr": "10.0.0.0/16"},
             {"ssm", "sqs", "ec2messages", "ebs", "ssmmessages", "kinesis-streams", "s3"}),
            ("restore-only", {"Ec2Backup": "false", "Ec2RestoreArchiveRetention": "true", "RdsOrEfs": "false", "FileLevelRecoveryToOriginal": "false"},
             {"ssm", "sqs", "ec2messages"}),
        ]
        for name, parameters, expected in cases:
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
            status = deploy(cfn, name, {"VpcId": vpc, "VpcCidr": "10.0.0.0/16", "SubnetIds": ",".join(subnets), **parameters})
            if status != "CREATE_COMPLETE":
                problems.append(f"{name}: the stack ended {status}")
                continue
            endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
            services = {e["ServiceName"].split(".", 3)[3] for e in endpoints}
            if services != expected:
                problems.append(f"{name}: endpoints {sorted(services)}, expected {sorted(expected)}")
            for e in endpoints:
                service = e["ServiceName"].split(".", 3)[3]
                if e["VpcEndpointType"] != "Interface":
                    problems.append(f"{name}: {service} is a {e['VpcEndpointType']} endpoint")
                if e.get("PrivateDnsEnabled") != (service != "s3"):
                    problems.append(f"{name}: {service} has PrivateDnsEnabled={e.get('PrivateDnsEnabled')}")
            groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
            inbound = {(g["Description"].split(" - ")[0], r.get("FromPort"), c["CidrIp"]) for g in groups for r in g["IpPermissions"] for c in r.get("IpRanges", [])}
            wanted = {("Veeam worker endpoints", 443, "10.0.0.0/16")}
            if "s3" in expected:
                wanted |= {("Veeam repository S3 endpoint", 443, APPLIANCE), ("Veeam repository S3 endpoint", 443, "10.0.0.0/16")}
            if not wanted <= inbound:
                problems.append(f"{name}: inbound rules {sorted(inbound)} lack {sorted(wanted - inbound)}")
            if any(port not in (443, None) for (_, port, _) in inbound):
                problems.append(f"{name}: inbound rules other than 443: {sorted(inbound)}")
            outputs = {o["OutputKey"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])}
            if not {"VpcId", "SubnetIds", "WorkerSecurityGroupId"} <= outputs:
                problems.append(f"{name}: outputs {sorted(outputs)}")
            print(f"{name}: {status}, endpoints {sorted(services)}")
        problems += published_for_the_roles_stackset(ec2, cfn, boto3.client("ssm", **kw))
        problems += guide_example_checked_by_netcheck(ec2, cfn, url)
    finally:
        proc.kill()
    for problem in problems:
        print("PROBLEM:", problem)
    failed = len({p.split(':')[0] for p in problems})
    print(f"{4 - failed} passed, {failed} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

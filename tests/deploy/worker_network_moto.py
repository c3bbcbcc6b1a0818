"""Deploys template/worker-network.yaml into moto's CloudFormation and checks what it creates.

Run by `make deploy-check` (part of `make test`) with the project's .venv. It starts its own moto
server on a free port of 127.0.0.1, and exits non-zero when the endpoints or security groups
differ from what Veeam's guide requires for the chosen operations.
"""

import pathlib
import sys
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
    finally:
        proc.kill()
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"{2 - len({p.split(':')[0] for p in problems})} passed, {len({p.split(':')[0] for p in problems})} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

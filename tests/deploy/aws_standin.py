"""A stand-in for the AWS CLI, for the deploy commands' checks and the upgrade demo.

Each call is written to $FAKE_AWS_LOG (one JSON list of arguments per line) and checked against
the CLI's own service model (aws_model.py) and the maximums AWS documents, so a call AWS would
refuse fails. It answers what the commands read: `describe-stacks` outputs from $FAKE_<OutputKey>,
`describe-stack-set` parameters from $FAKE_STACKSET_PARAMETERS, and a bucket kept as the folder
$FAKE_BUCKET (`s3 cp` writes into it, `s3api head-object` reads it). Run it through a wrapper
named `aws` on PATH, with the venv's python.
"""
import json, os, pathlib, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
# Every call as AWS would check it: the CLI's own service model (aws_model.py).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import aws_model
problems = aws_model.validate(args)
if problems:
    sys.exit("An error occurred (ValidationError): " + "; ".join(problems))
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
# What AWS refuses: a template body over 51,200 bytes (CreateStackSet, UpdateStackSet and
# CreateChangeSet's TemplateBody: "Length Constraints: Maximum length of 51200"), which the CLI's
# deploy sends inline without --s3-bucket.
body = value("--template-body") or (value("--template-file") if "--s3-bucket" not in args else None)
if body:
    path = body.removeprefix("file://")
    if len(pathlib.Path(path).read_bytes()) > 51200:
        sys.exit("An error occurred (ValidationError): 1 validation error detected: Value at 'templateBody' "
                 "failed to satisfy constraint: Member must have length less than or equal to 51200")
# The bucket: a folder of the keys uploaded.
bucket = pathlib.Path(os.environ["FAKE_BUCKET"])
if args[:2] == ["s3api", "head-object"]:
    sys.exit(0 if (bucket / value("--key")).exists() else 255)
if args[:2] == ["s3", "cp"]:
    (bucket / args[3].split("/", 3)[3]).write_bytes(pathlib.Path(args[2]).read_bytes())
if "describe-stack-set" in sys.argv:
    print(os.environ.get("FAKE_STACKSET_PARAMETERS", ""))
if "describe-stacks" in sys.argv:
    query = sys.argv[sys.argv.index("--query") + 1]
    key = query.split("OutputKey=='")[1].split("'")[0]
    print(os.environ.get("FAKE_" + key, "None"))

"""An AWS CLI call checked against the CLI's own service model (botocore's), as AWS would check
it: the operation exists, every option is one of its members, required members are given, and
strings keep their enums, lengths and patterns; structures and lists given in the CLI's
shorthand (`Key=Value,Key=Value`) or as JSON are checked member by member.

What the model does not say, AWS's documentation does: limits it states only in prose (a
template body's 51,200 bytes) are checked by the stand-in itself, each with its page.
"""

import json
import re

import botocore.session

# Options of the CLI itself, not of an operation.
GLOBAL = {"region", "profile", "query", "output", "endpoint-url", "no-cli-pager", "debug"}
# High-level commands (customizations) mapped to the operation whose members they fill.
CUSTOM = {("cloudformation", "deploy"): "CreateChangeSet"}
# Their own options, which are not members of that operation.
CUSTOM_OPTIONS = {("cloudformation", "deploy"): {"template-file", "s3-bucket", "s3-prefix", "parameter-overrides",
                                                  "no-fail-on-empty-changeset", "fail-on-empty-changeset",
                                                  "no-execute-changeset", "force-upload", "kms-key-id"}}
CUSTOM_REQUIRED = {("cloudformation", "deploy"): ["stack-name", "template-file"]}
SERVICE = {"s3api": "s3"}

_session = botocore.session.get_session()


def kebab(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).lower()


def _operation(service, command):
    model = _session.get_service_model(SERVICE.get(service, service))
    name = CUSTOM.get((service, command))
    if name:
        return model.operation_model(name)
    for candidate in model.operation_names:
        if kebab(candidate) == command:
            return model.operation_model(candidate)
    return None


def _options(args):
    """`--flag value value …` pairs; a flag without a value is a switch."""
    options, flag = {}, None
    for arg in args:
        if arg.startswith("--"):
            flag = arg[2:]
            options[flag] = []
        elif flag is not None:
            options[flag].append(arg)
    return options


def _shorthand(text):
    """`A=1,B=2` (values without commas) as a dict; JSON as itself."""
    text = text.strip()
    if text.startswith("{") or text.startswith("["):
        return json.loads(text)
    pairs = {}
    key = None
    for part in text.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            pairs[key] = value
        elif key is not None:  # A list value: OrganizationalUnitIds=ou-a,ou-b
            pairs[key] = f"{pairs[key]},{part}"
    return pairs


def _check(shape, value, where, errors):
    kind = shape.type_name
    meta = shape.metadata
    if kind == "string":
        if not isinstance(value, str):
            errors.append(f"{where}: expected a string, got {value!r}")
            return
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} is not one of {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"{where}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{where}: longer than {meta['max']}")
        pattern = meta.get("pattern")
        if pattern:
            try:
                if not re.fullmatch(pattern, value):
                    errors.append(f"{where}: {value!r} does not match {pattern}")
            except re.error:
                pass  # A Java-only construct: AWS checks it, we cannot.
    elif kind == "boolean":
        if str(value).lower() not in ("true", "false"):
            errors.append(f"{where}: {value!r} is not a boolean")
    elif kind in ("integer", "long"):
        try:
            int(value)
        except (TypeError, ValueError):
            errors.append(f"{where}: {value!r} is not an integer")
    elif kind == "list":
        items = value if isinstance(value, list) else [value]
        if "min" in meta and len(items) < meta["min"]:
            errors.append(f"{where}: fewer than {meta['min']} items")
        if "max" in meta and len(items) > meta["max"]:
            errors.append(f"{where}: more than {meta['max']} items")
        for i, item in enumerate(items):
            if shape.member.type_name == "structure" and isinstance(item, str):
                item = _shorthand(item)
            if shape.member.type_name == "string" and isinstance(item, str) and "," in item and shape.member.enum is None:
                for j, part in enumerate(item.split(",")):
                    _check(shape.member, part, f"{where}[{i}.{j}]", errors)
                continue
            _check(shape.member, item, f"{where}[{i}]", errors)
    elif kind == "structure":
        if isinstance(value, str):
            value = _shorthand(value)
        if not isinstance(value, dict):
            errors.append(f"{where}: expected a structure, got {value!r}")
            return
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{where}: {name} is required")
        for name, inner in value.items():
            member = shape.members.get(name)
            if member is None:
                errors.append(f"{where}: no member {name} (known: {', '.join(shape.members)})")
            else:
                _check(member, inner, f"{where}.{name}", errors)


def validate(argv):
    """The problems AWS would refuse `aws <argv>` for; empty when it would take it."""
    if len(argv) < 2 or argv[0] in ("configure", "s3"):
        return []  # The CLI's own configuration, and s3's high-level commands.
    service, command = argv[0], argv[1]
    operation = _operation(service, command)
    if operation is None:
        return [f"aws {service} {command}: no such operation in the service model"]
    errors = []
    given = _options(argv[2:])
    members = {kebab(name): (name, shape) for name, shape in operation.input_shape.members.items()}
    custom = CUSTOM_OPTIONS.get((service, command), set())
    for flag, values in given.items():
        if flag in GLOBAL or flag in custom:
            continue
        if flag not in members:
            errors.append(f"--{flag}: not an option of {operation.name}")
            continue
        name, shape = members[flag]
        if shape.type_name == "list":
            value = values
        else:
            if len(values) != 1:
                errors.append(f"--{flag}: expects one value, got {values}")
                continue
            value = values[0]
        _check(shape, value, f"{operation.name}.{name}", errors)
    required = CUSTOM_REQUIRED.get((service, command)) or [kebab(n) for n in operation.input_shape.required_members]
    for flag in required:
        if flag not in given:
            errors.append(f"aws {service} {command}: --{flag} is required")
    return errors

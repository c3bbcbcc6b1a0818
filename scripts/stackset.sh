#!/usr/bin/env bash
# make deploy-stackset / update-stackset: creates or updates the roles StackSet.
#
# Runs with the management or delegated-administrator account's credentials (the default chain
# or AWS_PROFILE). The functions live in the backup account, where that account cannot read the
# Lambdas stack: their ARNs (and the configurator's execution role, which alone may assume the
# event reader roles) come from RANDOM_EXT_ID_ARN, CONFIGURATOR_ARN and CONFIGURATOR_ROLE_ARN, or
# are read from the Lambdas stack's outputs with BACKUP_PROFILE (a profile of the backup account).
#
# On update, a parameter that is not given keeps its previous value, so re-running the command
# neither rotates the external IDs nor flips OnDelete back.
set -euo pipefail

action=${1:?usage: stackset.sh create|update}
fail() { echo "$*" >&2; exit 2; }

[ -n "${REGION:-}" ] || fail "REGION is required: the Region of the Lambdas stack (the StackSet deploys there only)"
STACKSET=${STACKSET:-vbaws-veeam-roles}
PREFIX=${PREFIX:-vbaws}
LAMBDAS_STACK=${LAMBDAS_STACK:-vbaws-lambdas}
CALL_AS=${CALL_AS:-DELEGATED_ADMIN}

# An output of the Lambdas stack, read in the backup account.
output() {
  aws cloudformation describe-stacks --profile "$BACKUP_PROFILE" --region "$REGION" \
    --stack-name "$LAMBDAS_STACK" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

if [ -n "${BACKUP_PROFILE:-}" ]; then
  [ -n "${RANDOM_EXT_ID_ARN:-}" ] || RANDOM_EXT_ID_ARN=$(output RandomExtIdFunctionArn) ||
    fail "could not read the stack $LAMBDAS_STACK in $REGION with the profile $BACKUP_PROFILE (see the error above)"
  [ -n "${CONFIGURATOR_ARN:-}" ] || CONFIGURATOR_ARN=$(output VeeamConfiguratorFunctionArn) ||
    fail "could not read the stack $LAMBDAS_STACK in $REGION with the profile $BACKUP_PROFILE (see the error above)"
  [ -n "${CONFIGURATOR_ROLE_ARN:-}" ] || CONFIGURATOR_ROLE_ARN=$(output ConfiguratorRoleArn) ||
    fail "could not read the stack $LAMBDAS_STACK in $REGION with the profile $BACKUP_PROFILE (see the error above)"
fi

# The parameters the StackSet has now (none on create): a parameter it lacks has no previous
# value to keep.
known=
if [ "$action" = update ]; then
  known=$(aws cloudformation describe-stack-set --region "$REGION" --call-as "$CALL_AS" --stack-set-name "$STACKSET" \
    --query "StackSet.Parameters[].ParameterKey" --output text)
fi
has() { [[ " $(echo $known) " == *" $1 "* ]]; }

# The CLI prints "None" for a missing output.
for name in RANDOM_EXT_ID_ARN CONFIGURATOR_ARN; do
  value=${!name:-}
  [ "$value" = None ] && value=
  if [ -z "$value" ]; then
    if [ "$action" = create ] || [ -n "${BACKUP_PROFILE:-}" ]; then
      fail "$name is empty: give it (an output of the Lambdas stack in the backup account), or BACKUP_PROFILE=<a profile of the backup account> to read it from the stack $LAMBDAS_STACK; every stack instance would fail without it"
    fi
    continue
  fi
  [[ $value =~ ^arn:aws[a-z-]*:lambda:([a-z0-9-]+):[0-9]{12}:function:.+$ ]] ||
    fail "$name=$value is not a Lambda function ARN"
  [ "${BASH_REMATCH[1]}" = "$REGION" ] ||
    fail "$name is in ${BASH_REMATCH[1]}, but a ServiceToken must be in the stack's Region ($REGION)"
  printf -v "$name" '%s' "$value"
done

# The event reader roles trust exactly this role: required when the StackSet is created, and
# when it is first updated to a roles.yaml that has them.
value=${CONFIGURATOR_ROLE_ARN:-}
[ "$value" = None ] && value=
if [ -z "$value" ] && { [ "$action" = create ] || ! has ConfiguratorRoleArn; }; then
  fail "CONFIGURATOR_ROLE_ARN is empty: give it (the Lambdas stack's ConfiguratorRoleArn output), or BACKUP_PROFILE=<a profile of the backup account> to read it from the stack $LAMBDAS_STACK; the event reader roles trust only that role"
fi
[ -z "$value" ] || [[ $value =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$ ]] ||
  fail "CONFIGURATOR_ROLE_ARN=$value is not an IAM role ARN"
CONFIGURATOR_ROLE_ARN=$value

# roles.yaml is larger than the 51,200 bytes CreateStackSet and UpdateStackSet take inline
# (TemplateBody): the StackSet reads it from the URL make publish wrote, a key named after its
# content, so an unchanged template changes nothing.
published=${PUBLISHED:-dist/published.env}
if [ -z "${ROLES_TEMPLATE_URL:-}" ] && [ -f "$published" ]; then
  ROLES_TEMPLATE_URL=$(. "$published" && echo "${ROLES_TEMPLATE_URL:-}")
fi
[ -n "${ROLES_TEMPLATE_URL:-}" ] ||
  fail "no published roles.yaml: run make publish BUCKET=<bucket> REGION=$REGION first (it uploads roles.yaml, which is too large to send inline), or give ROLES_TEMPLATE_URL"

if [ "$action" = create ] && [ -z "${APPLIANCE_ROLE_ARN:-}" ]; then
  fail "APPLIANCE_ROLE_ARN is required: the IAM role of the appliance that assumes the member roles"
fi

# ParameterKey=K,ParameterValue=V when a value is given (or, on create, the default); on
# update, UsePreviousValue.
parameters=("ParameterKey=HomeRegion,ParameterValue=$REGION")
parameter() {
  local key=$1 value=${2:-${3:-}}
  if [ -n "${2:-}" ] || { [ "$action" = create ] && [ -n "$value" ]; }; then
    parameters+=("ParameterKey=$key,ParameterValue=$value")
  else
    parameters+=("ParameterKey=$key,UsePreviousValue=true")
  fi
}
parameter VeeamApplianceRoleArn "${APPLIANCE_ROLE_ARN:-}"
parameter RandomExtIdFunctionArn "${RANDOM_EXT_ID_ARN:-}"
parameter VeeamConfiguratorFunctionArn "${CONFIGURATOR_ARN:-}"
parameter ConfiguratorRoleArn "${CONFIGURATOR_ROLE_ARN:-}"
# Named after the Lambdas stack's prefix, as the configurator's EVENT_READER_ROLE_NAME is.
parameters+=("ParameterKey=EventReaderRoleName,ParameterValue=$PREFIX-event-reader")
parameter OnDelete "${ON_DELETE:-}" Remove
parameter ExternalIdRotation "${ROTATION:-}" initial
# Services is a list: the CLI's shorthand needs its commas escaped. A StackSet created before
# the parameter existed has no previous value to keep; it protected EC2, the default.
if [ -z "${SERVICES:-}" ] && [ "$action" = update ] && ! has Services; then
  SERVICES=ec2
fi
services=${SERVICES:-}
parameter Services "${services//,/\\,}" ec2

# The production workers' parameters (docs/production-workers.md): given ones change; the
# others keep the StackSet's value when it has one. A StackSet from before them gets the
# template's defaults (WorkerNetwork None), as on create.
worker() {
  local key=$1 value=$2
  if [ -n "$value" ]; then
    parameters+=("ParameterKey=$key,ParameterValue=$value")
  elif [ "$action" = update ] && has "$key"; then
    parameters+=("ParameterKey=$key,UsePreviousValue=true")
  fi
}
worker WorkerNetwork "${WORKER_NETWORK:-}"
worker WorkerConfigurationRoleName "${WORKER_CONFIGURATION_ROLE_NAME:-}"
worker WorkerZoneParameter "${WORKER_ZONE_PARAMETER:-}"
worker WorkerVpcParameter "${WORKER_VPC_PARAMETER:-}"
worker WorkerSubnetParameter "${WORKER_SUBNET_PARAMETER:-}"
worker WorkerSecurityGroupParameter "${WORKER_SECURITY_GROUP_PARAMETER:-}"

preferences=(--operation-preferences MaxConcurrentPercentage=25,FailureTolerancePercentage=10)
case $action in
  create)
    [ -n "${OU:-}" ] || fail "OU is required: the OU IDs to roll the roles out to (ou-…, comma-separated)"
    aws cloudformation create-stack-set --region "$REGION" --call-as "$CALL_AS" --stack-set-name "$STACKSET" \
      --template-url "$ROLES_TEMPLATE_URL" --capabilities CAPABILITY_NAMED_IAM \
      --permission-model SERVICE_MANAGED --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false \
      --managed-execution Active=true --parameters "${parameters[@]}"
    aws cloudformation create-stack-instances --region "$REGION" --call-as "$CALL_AS" --stack-set-name "$STACKSET" \
      --deployment-targets "OrganizationalUnitIds=$OU" --regions "$REGION" "${preferences[@]}"
    ;;
  update)
    aws cloudformation update-stack-set --region "$REGION" --call-as "$CALL_AS" --stack-set-name "$STACKSET" \
      --template-url "$ROLES_TEMPLATE_URL" --capabilities CAPABILITY_NAMED_IAM \
      --parameters "${parameters[@]}" "${preferences[@]}"
    ;;
  *) fail "usage: stackset.sh create|update" ;;
esac

#!/usr/bin/env bash
# make publish: uploads the zips and roles.yaml under keys named after their content, and writes
# dist/published.env, which the deploy commands read.
#
#   scripts/publish.sh BUCKET REGION
#
# CloudFormation notices a new release only through a changed property: a changed object behind
# an unchanged key (S3Key, TemplateURL) is not deployed. A key that carries a hash of what it
# holds changes exactly when the content does, so an unchanged build publishes nothing new and
# a deploy after it changes nothing. An object already there is not uploaded again.
set -euo pipefail

bucket=${1:?usage: publish.sh BUCKET REGION}
region=${2:?usage: publish.sh BUCKET REGION}
manifest=${PUBLISHED:-dist/published.env}

# The first 16 hex digits of a file's SHA-256. A zip's hash is its bootstrap's: the zip's own
# bytes carry timestamps.
digest() { sha256sum "$1" | cut -c1-16; }
zip_digest() { python3 -c 'import hashlib, sys, zipfile; print(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read("bootstrap")).hexdigest()[:16])' "$1"; }

upload() {
  local file=$1 key=$2
  if aws s3api head-object --bucket "$bucket" --key "$key" --region "$region" >/dev/null 2>&1; then
    echo "s3://$bucket/$key is there already"
  else
    aws s3 cp "$file" "s3://$bucket/$key" --region "$region"
  fi
}

declare -A keys
for function in random-ext-id veeam-configurator vbaws-reconciler; do
  keys[$function]="$function-$(zip_digest "dist/$function.zip").zip"
  upload "dist/$function.zip" "${keys[$function]}"
done
roles="roles-$(digest template/roles.yaml).yaml"
upload template/roles.yaml "$roles"
# The virtual-hosted URL CloudFormation reads a TemplateURL from; cn- Regions use their own domain.
domain=amazonaws.com
[[ $region == cn-* ]] && domain=amazonaws.com.cn

cat > "$manifest" <<EOF
# Written by make publish: what the deploy commands deploy.
RANDOM_EXT_ID_KEY=${keys[random-ext-id]}
CONFIGURATOR_KEY=${keys[veeam-configurator]}
RECONCILER_KEY=${keys[vbaws-reconciler]}
ROLES_TEMPLATE_URL=https://$bucket.s3.$region.$domain/$roles
PUBLISHED_BUCKET=$bucket
EOF
echo "wrote $manifest"

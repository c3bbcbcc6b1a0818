#!/usr/bin/env bash
# Builds one Lambda deployment zip per function: an arm64 `bootstrap` for provided.al2023.
#
#   scripts/package.sh OUT_DIR FUNCTION...
#
# Expects cargo-zigbuild and zig on PATH (the Makefile's .venv provides both). AL2023 ships
# glibc 2.34, so the binary is linked against no newer symbol versions than that.
#
# PROFILE (default release) names the Cargo profile. TOGETHER=1 builds every function in one
# cargo invocation, which builds the dependencies once with the union of the functions'
# features: quicker, for a check; the zips to ship are built one by one.
set -euo pipefail

out=$1
shift
target=aarch64-unknown-linux-gnu
profile=${PROFILE:-release}

rustup target list --installed | grep -qx "$target" || rustup target add "$target"
mkdir -p "$out"
if [ -n "${TOGETHER:-}" ]; then
  cargo zigbuild --profile "$profile" --locked --target "$target.2.34" $(printf -- '-p %s ' "$@")
fi
for function in "$@"; do
  # One build per function: built together, cargo would give each the union of both's
  # dependency features, and a bigger binary.
  [ -n "${TOGETHER:-}" ] || cargo zigbuild --profile "$profile" --locked --target "$target.2.34" -p "$function"
  binary="target/$target/$profile/$function"
  # An ELF header whose e_machine (bytes 18-19, little endian) is 0xb7 is an aarch64 binary.
  machine=$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' \n')
  magic=$(od -An -c -N4 "$binary" | tr -d ' \n')
  if [ "$magic" != '177ELF' ] || [ "$machine" != "b700" ]; then
    echo "error: $binary is not an aarch64 ELF (magic $magic, machine $machine)" >&2
    exit 1
  fi
  stage=$(mktemp -d)
  cp "$binary" "$stage/bootstrap"
  chmod 755 "$stage/bootstrap"
  rm -f "$out/$function.zip"
  # zipfile keeps the file mode, so Lambda finds an executable bootstrap.
  (cd "$stage" && python3 -m zipfile -c "$OLDPWD/$out/$function.zip" bootstrap)
  rm -rf "$stage"
  printf '%s  %s bytes (bootstrap %s bytes, aarch64)\n' "$out/$function.zip" \
    "$(stat -c %s "$out/$function.zip")" "$(stat -c %s "$binary")"
done

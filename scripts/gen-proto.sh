#!/usr/bin/env bash
# Regenerates the Go code for every .proto file under proto/.
# Needs protoc (Debian package protobuf-compiler) and protoc-gen-go at the version
# of google.golang.org/protobuf in go.mod (scripts/install-tools.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
want=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
have=$(protoc-gen-go --version 2>/dev/null | awk '{print $2}')
if [ "$have" != "$want" ]; then
  echo "protoc-gen-go $have found, $want wanted: run scripts/install-tools.sh" >&2
  exit 1
fi
mapfile -t files < <(find proto -name '*.proto' | sort)
[ "${#files[@]}" -gt 0 ] || exit 0
protoc --proto_path=proto --go_out=proto --go_opt=paths=source_relative "${files[@]}"

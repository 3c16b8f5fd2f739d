#!/usr/bin/env bash
# Installs the tools that building and checking flowfed needs on a Debian machine with Go:
# protoc (Debian's protobuf-compiler) and protoc-gen-go pinned to the protobuf runtime in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi
want=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
export PATH="$(go env GOPATH)/bin:$PATH"
if [ "$(protoc-gen-go --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
  go install "google.golang.org/protobuf/cmd/protoc-gen-go@$want"
fi

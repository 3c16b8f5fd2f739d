#!/usr/bin/env bash
# The whole check that CI runs: tools, formatting, vet, staticcheck, race tests and
# an up-to-date check of the generated protobuf code.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED="${CGO_ENABLED:-0}"
STATICCHECK_VERSION=v0.8.2

step() { printf '== %s\n' "$*"; }

step "tools"
scripts/install-tools.sh

step "go mod tidy"
cp go.mod /tmp/flowfed-go.mod.$$; cp go.sum /tmp/flowfed-go.sum.$$
go mod tidy
if ! cmp -s go.mod /tmp/flowfed-go.mod.$$ || ! cmp -s go.sum /tmp/flowfed-go.sum.$$; then
  cp /tmp/flowfed-go.mod.$$ go.mod; cp /tmp/flowfed-go.sum.$$ go.sum
  echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; exit 1
fi
rm -f /tmp/flowfed-go.mod.$$ /tmp/flowfed-go.sum.$$

step "gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '\.pb\.go$' || true)
if [ -n "$bad" ]; then echo "gofmt needed on:"; echo "$bad"; exit 1; fi

step "generated protobuf code is current"
scripts/gen-proto.sh
if [ -n "$(git status --porcelain -- proto)" ]; then
  git status --porcelain -- proto; git diff --stat -- proto
  echo "generated protobuf code is out of date: run scripts/gen-proto.sh and commit" >&2; exit 1
fi

step "go build"
go build ./...

step "go vet"
go vet ./...

step "staticcheck $STATICCHECK_VERSION"
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...

step "go test -race"
# The race detector needs cgo.
CGO_ENABLED=1 go test -race -count=1 ./...

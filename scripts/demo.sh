#!/usr/bin/env bash
# Runs flowfed on built-in sample data in a temporary node: create a vault, pseudonymize
# sample addresses, restore them, rotate and shred an epoch key.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -o bin/flowfed ./cmd/flowfed
ff=bin/flowfed
dir=$(mktemp -d "${TMPDIR:-/tmp}/flowfed-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export FLOWFED_DIR="$dir/node" FLOWFED_PASSPHRASE="demo passphrase (do not use)"

say() { printf '\n== %s\n' "$*"; }
samples=$'192.0.2.1\n192.0.2.77\n198.51.100.23\n203.0.113.250\n2001:db8::1\n2001:db8::2\n2001:db8:cafe::42'

say "flowfed init: vault, node identity and the first epoch key"
$ff init --period week

say "pseudonyms of sample addresses (Crypto-PAn keeps shared prefixes shared)"
pseud=$($ff pseudo <<<"$samples")     # first line: '# flowfed-pseudo key=... mode=...'
epoch=$(head -n 1 <<<"$pseud" | grep -o 'ek_[a-z2-7]*')
head -n 1 <<<"$pseud"
paste <(printf '%s\n' "$samples") <(tail -n +2 <<<"$pseud") | column -t

say "the same addresses with ipcrypt-pfx, and in a recipient domain 'cert-b'"
paste <(printf '%s\n' "$samples") <($ff pseudo --no-header --mode ipcrypt-pfx <<<"$samples") \
  <($ff pseudo --no-header --domain cert-b <<<"$samples") | column -t

say "only the key owner can reverse them (key and mode come from the header line)"
$ff pseudo --reverse <<<"$pseud" | paste <(tail -n +2 <<<"$pseud") - | column -t

say "a sample capture (synthetic, documentation addresses), shared securely"
$ff synth --flows 30 "$dir/sample.pcap"
$ff pcap anonymize "$dir/sample.pcap" "$dir/shareable.pcap"
$ff pcap inspect "$dir/shareable.pcap"

say "its flows with protocol labels, as the owner sees them (--raw) and as stored (pseudonymized)"
$ff flows --raw "$dir/sample.pcap" | head -n 5
$ff flows "$dir/sample.pcap" 2>/dev/null | head -n 5

say "ingest: flows metered, pseudonymized and stored (a second run skips the same capture)"
$ff ingest "$dir/sample.pcap"
$ff ingest "$dir/sample.pcap"

say "rotate: a new epoch key for new data; then shred the old one"
$ff keys rotate
$ff keys shred "$epoch" --yes
$ff keys list

say "after shredding, the old pseudonyms can no longer be reversed"
if $ff pseudo --reverse <<<"$pseud"; then
  echo "unexpected: reversal still worked" >&2; exit 1
fi
echo "demo finished: the node lived in $dir (removed now)"

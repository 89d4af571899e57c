#!/usr/bin/env bash
# Peak resident memory of copying a 1 GiB blob layout→registry and registry→layout.
#
# Builds okd-streams-cli/benches/blob_copy.rs in release mode, starts Debian's docker-registry on a free
# loopback port, writes a 1 GiB single-layer image into an OCI layout, then runs each copy as
# its own process under /usr/bin/time -v and prints its peak RSS. Everything lives in a
# temporary directory that is removed at the end. Target: every copy under 64 MiB.
#
# Usage: benches/blob_rss.sh [BYTES]     (default 1073741824)
set -euo pipefail

SIZE=${1:-1073741824}
LIMIT_KB=$((64 * 1024))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REGISTRY=${OKD_STREAMS_DOCKER_REGISTRY:-/usr/bin/docker-registry}

for tool in "$REGISTRY" /usr/bin/time jq awk cargo; do
    command -v "$tool" >/dev/null || { echo "blob_rss.sh: $tool is required" >&2; exit 1; }
done

echo "building the blob_copy bench binary (release)…" >&2
BIN=$(cd "$ROOT" && cargo bench -p okd-streams-cli --bench blob_copy --no-run --message-format=json \
    | jq -r 'select(.reason == "compiler-artifact" and .target.name == "blob_copy" and .executable != null) | .executable' \
    | tail -n 1)
[ -x "$BIN" ] || { echo "blob_rss.sh: could not build blob_copy" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/okd-blob-rss.XXXXXX")
REG_PID=
cleanup() {
    if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$("$BIN" free-port)
HOST=127.0.0.1:$PORT
mkdir -p "$WORK/storage"
cat >"$WORK/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/storage
  delete:
    enabled: true
http:
  addr: $HOST
  secret: okd-streams-bench
YAML
# REGISTRY_* variables override the config file; none from the environment may move it.
(
    for v in $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
    exec "$REGISTRY" serve "$WORK/config.yml"
) >"$WORK/registry.log" 2>&1 &
REG_PID=$!
"$BIN" wait-port "$HOST"

echo "writing a $SIZE-byte layer into $WORK/src…" >&2
"$BIN" make-layout "$WORK/src" "$SIZE" >&2

measure() {
    local what=$1; shift
    /usr/bin/time -v "$BIN" "$@" 2>"$WORK/time.txt" >"$WORK/out.txt" || {
        cat "$WORK/out.txt" "$WORK/time.txt" >&2; exit 1; }
    local kb
    kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
    local secs
    secs=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.txt")
    local verdict=met
    [ "$kb" -lt "$LIMIT_KB" ] || verdict="NOT met"
    printf '%-20s peak RSS %6.1f MiB  wall %s  (%s)  target < 64 MiB: %s\n' \
        "$what" "$(awk -v kb="$kb" 'BEGIN { print kb / 1024 }')" "$secs" \
        "$(cat "$WORK/out.txt")" "$verdict"
}

measure "layout→registry" copy "oci:$WORK/src:bench/blob:big" "docker://$HOST/bench/blob:big" --insecure "$HOST"
measure "registry→layout" copy "docker://$HOST/bench/blob:big" "oci:$WORK/dst:bench/blob:big" --insecure "$HOST"

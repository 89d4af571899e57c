#!/usr/bin/env bash
# Mirrors a synthetic OKD payload between local registries with okd-streams and with skopeo, and
# prints wall-clock times, ratios and peak memory side by side, then checks that a no-op re-mirror
# is fast and that a mirror killed at random points and run again completes without copying any
# finished blob twice.
#
# Usage: benches/compare-skopeo.sh
# Environment:
#   COMPONENTS   payload components (default 190)
#   LAYER_SIZE   bytes of each component's own layer (default 5.5 MiB, giving > 1 GiB of blobs)
#   JOBS         okd-streams operations in flight per registry (default 16)
#   KILLS        interruptions in the kill-and-rerun check (default 5)
#   SEED         payload and kill-point seed (default 1)
#   KEEP         keep the work directory when set
set -euo pipefail

COMPONENTS=${COMPONENTS:-190}
LAYER_SIZE=${LAYER_SIZE:-5767168}
JOBS=${JOBS:-16}
KILLS=${KILLS:-5}
SEED=${SEED:-1}

root=$(cd "$(dirname "$0")/.." && pwd)
for tool in docker-registry skopeo curl jq /usr/bin/time cargo; do
    command -v "$tool" >/dev/null || { echo "compare-skopeo: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/okd-mirror-bench.XXXXXX")
cleanup() {
    # Registries are started inside command substitutions, so their pids are kept in files.
    for f in "$work"/*.pid; do
        [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap cleanup EXIT

echo "== building the bench binary (release mode)"
(cd "$root" && cargo build --release -q -p okd-mirror --example mirror-bench)
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/mirror-bench"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a docker-registry with its own storage; prints its host:port.
start_registry() {
    local name=$1 port dir
    port=$(free_port)
    dir="$work/$name"
    mkdir -p "$dir/storage"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    echo $! >"$work/$name.pid"
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && { echo "127.0.0.1:$port"; return; }
        sleep 0.1
    done
    echo "compare-skopeo: registry $name did not start; see $dir/log" >&2
    exit 1
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_mib() { awk '/Maximum resident set size/ { printf "%.1f", $6 / 1024 }' "$1"; }
max_rss_mib() { sort -n "$1" | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'; }

src=$(start_registry source)
echo "== generating $COMPONENTS components into $src"
"$bin" generate --registry "$src" --components "$COMPONENTS" --layer-size "$LAYER_SIZE" \
    --seed "$SEED" >"$work/release.json"
release=$(jq -r .release "$work/release.json")
unique=$(jq -r .unique_blob_bytes "$work/release.json")
echo "   release $release, $(awk -v b="$unique" 'BEGIN { printf "%.0f", b / 1048576 }') MiB of unique blobs"

# okd-streams, cold.
dst_okd=$(start_registry okd)
echo "== okd-streams mirror (-j $JOBS) into $dst_okd"
t0=$(now)
/usr/bin/time -v -o "$work/okd.time" "$bin" mirror --from "$release" --to "$dst_okd/okd/release" \
    -j "$JOBS" --report "$work/okd-report.json" --mapping "$work/mapping-okd.txt" >/dev/null
t_okd=$(secs "$t0" "$(now)")
copied=$(jq .totals.bytes_copied "$work/okd-report.json")
images=$(jq .totals.images "$work/okd-report.json")

# No-op re-mirror.
t0=$(now)
"$bin" mirror --from "$release" --to "$dst_okd/okd/release" -j "$JOBS" --report "$work/noop.json" >/dev/null
t_noop=$(secs "$t0" "$(now)")
noop_copied=$(jq .totals.bytes_copied "$work/noop.json")

# The same images, one skopeo copy per image, as a user's script would do.
skopeo_one() {
    /usr/bin/time -f %M -a -o "$3" skopeo copy -q --all --preserve-digests \
        --src-tls-verify=false --dest-tls-verify=false "docker://$1" "docker://$2"
}
export -f skopeo_one

dst_seq=$(start_registry skopeo-seq)
sed "s#$dst_okd/#$dst_seq/#" "$work/mapping-okd.txt" >"$work/mapping-seq.txt"
echo "== skopeo copy, one at a time, into $dst_seq"
: >"$work/seq.rss"
t0=$(now)
while read -r s d; do skopeo_one "$s" "$d" "$work/seq.rss"; done <"$work/mapping-seq.txt"
t_seq=$(secs "$t0" "$(now)")

dst_par=$(start_registry skopeo-par)
sed "s#$dst_okd/#$dst_par/#" "$work/mapping-okd.txt" >"$work/mapping-par.txt"
echo "== skopeo copy, 4 in parallel, into $dst_par"
: >"$work/par.rss"
t0=$(now)
xargs -P 4 -L 1 bash -c 'skopeo_one "$0" "$1" '"$work/par.rss" <"$work/mapping-par.txt"
t_par=$(secs "$t0" "$(now)")

# Kill at random points, then run to the end; every finished blob copy is journalled as it
# completes, so a blob copied twice would show up twice.
dst_kill=$(start_registry killed)
echo "== kill-and-rerun check into $dst_kill ($KILLS kills)"
RANDOM=$SEED
for i in $(seq "$KILLS"); do
    delay=$(awk -v r="$RANDOM" -v t="$t_okd" 'BEGIN { printf "%.2f", 0.05 + (r / 32767) * t * 0.9 }')
    "$bin" mirror --from "$release" --to "$dst_kill/okd/release" -j "$JOBS" \
        --journal "$work/journal.jsonl" >/dev/null 2>&1 &
    victim=$!
    sleep "$delay"
    kill -9 "$victim" 2>/dev/null || true
    wait "$victim" 2>/dev/null || true
    echo "   run $i killed after ${delay}s ($(wc -l <"$work/journal.jsonl") blob copies journalled so far)"
done
"$bin" mirror --from "$release" --to "$dst_kill/okd/release" -j "$JOBS" \
    --journal "$work/journal.jsonl" --report "$work/final.json" >/dev/null
"$bin" verify --from "$release" --to "$dst_kill/okd/release" >"$work/verify.txt"
dupes=$(jq -r '.digest + " " + .destination' "$work/journal.jsonl" | sort | uniq -d | wc -l)
journalled=$(wc -l <"$work/journal.jsonl")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo
echo "payload: $images images, $(awk -v b="$unique" 'BEGIN { printf "%.0f", b / 1048576 }') MiB unique blobs, $(awk -v b="$copied" 'BEGIN { printf "%.0f", b / 1048576 }') MiB copied by okd-streams"
printf '%-34s %10s %16s %14s\n' "registry -> registry" "wall (s)" "vs okd-streams" "peak RSS MiB"
printf '%-34s %10s %16s %14s\n' "okd-streams -j $JOBS" "$t_okd" "1.00x" "$(rss_mib "$work/okd.time")"
printf '%-34s %10s %16s %14s\n' "skopeo copy, sequential" "$t_seq" "$(ratio "$t_seq" "$t_okd")" "$(max_rss_mib "$work/seq.rss")"
printf '%-34s %10s %16s %14s\n' "skopeo copy, 4 in parallel" "$t_par" "$(ratio "$t_par" "$t_okd")" "$(max_rss_mib "$work/par.rss")"
echo
echo "no-op re-mirror of $images images: ${t_noop}s (bytes copied: $noop_copied)"
echo "kill-and-rerun: $KILLS kills, $journalled blob copies journalled, $dupes copied twice; $(cat "$work/verify.txt")"
[ "$dupes" -eq 0 ] || { echo "FAIL: a finished blob was copied twice" >&2; exit 1; }

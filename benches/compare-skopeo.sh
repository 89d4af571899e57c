#!/usr/bin/env bash
# Mirrors a synthetic OKD payload between local registries with okd-streams and with skopeo, and
# prints wall-clock times, ratios, CPU time and peak memory side by side; then checks that a no-op
# re-mirror is fast and that a mirror killed at random points and run again completes without
# copying any finished blob twice.
#
# The okd-streams binary (`okd-streams mirror release`, as users run it), the library through
# the mirror-bench example, and "skopeo, 4 in parallel" run ROUNDS times, alternating, each into
# a fresh registry, and the medians are compared, so that other load on the machine hits all
# alike. The floor is the machine hashing every unique byte once, which is what the destination
# registry must do at least: with coreutils' sha256sum over the source registry's blob files,
# and, when Go is installed, with Go's crypto/sha256 (benches/registry-hash), the registry's own
# implementation; both in every round, beside the peers. Each run also records the CPU of the
# client and of both registries, whose sum over the cores is the least wall time the run could
# take on this machine with these registries. Then transfer archives are written and restored
# through the binary, next to the same bytes pulled into a layout and tarred, and untarred and
# pushed, in alternating rounds.
#
# Usage: benches/compare-skopeo.sh
# Environment:
#   COMPONENTS   payload components (default 190)
#   LAYER_SIZE   bytes of each component's own layer (default 5.5 MiB, giving > 1 GiB of blobs)
#   JOBS         okd-streams operations in flight per registry (default 16)
#   ROUNDS       alternating rounds of okd-streams and parallel skopeo (default 3)
#   KILLS        interruptions in the kill-and-rerun check (default 5)
#   SEED         payload and kill-point seed (default 1)
#   STORAGE      directory the registries store blobs under (default: the work directory);
#                STORAGE=/dev/shm takes the disk out of the comparison
#   KEEP         keep the work directory when set
set -euo pipefail

COMPONENTS=${COMPONENTS:-190}
LAYER_SIZE=${LAYER_SIZE:-5767168}
JOBS=${JOBS:-16}
ROUNDS=${ROUNDS:-3}
KILLS=${KILLS:-5}
SEED=${SEED:-1}

root=$(cd "$(dirname "$0")/.." && pwd)
for tool in docker-registry skopeo curl jq python3 /usr/bin/time cargo; do
    command -v "$tool" >/dev/null || { echo "compare-skopeo: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/okd-mirror-bench.XXXXXX")
storage=$work
if [ -n "${STORAGE:-}" ]; then storage=$(mktemp -d "$STORAGE/okd-mirror-bench.XXXXXX"); fi
cleanup() {
    # Registries are started inside command substitutions, so their pids are kept in files.
    for f in "$work"/*.pid; do
        [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    if [ "$storage" != "$work" ]; then rm -rf "$storage"; fi
    if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap cleanup EXIT

echo "== building the bench binary and okd-streams (release mode)"
(cd "$root" && cargo build --release -q -p okd-mirror --example mirror-bench &&
    cargo build --release -q -p okd-streams-cli --bin okd-streams)
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/mirror-bench"
okd="${CARGO_TARGET_DIR:-$root/target}/release/okd-streams"
export OKD_NO_AUTH="$work/auth.json"
echo '{"auths":{}}' >"$OKD_NO_AUTH"
# The CLI with the bench's registries reachable over plain HTTP and no credentials.
okd_cli() { "$okd" --insecure-registry 127.0.0.1 --authfile "$OKD_NO_AUTH" "$@"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a docker-registry with its own storage; prints its host:port.
start_registry() {
    local name=$1 port dir
    port=$(free_port)
    dir="$work/$name"
    mkdir -p "$dir" "$storage/$name-data"
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage/$name-data
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

# CPU seconds a registry has used so far (user + system, from /proc).
registry_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$(cat "$work/$1.pid")/stat"
}
# The CPU the two registries spent on one run: the source's since $src_cpu0 was read, and the
# whole life of the run's fresh destination (its start-up is a few milliseconds of it).
run_registries_cpu() {
    awk -v a="$src_cpu0" -v b="$(registry_cpu source)" -v d="$(registry_cpu "$1")" \
        'BEGIN { printf "%.2f %.2f\n", b - a, d }'
}

# Stops a registry and frees its storage.
stop_registry() {
    kill "$(cat "$work/$1.pid")" 2>/dev/null || true
    rm -f "$work/$1.pid"
    sleep 0.2
    rm -rf "${storage:?}/$1-data"
}

now() { date +%s.%N; }
# Each timed run starts with the page cache clean: the gigabyte the run before wrote (and the
# registry it deleted) is written back now, not in the middle of the next peer's run, where it
# would cost that peer the kernel's writeback CPU on a two-core machine.
settle() { sync; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

# One skopeo copy, recording "maxrss_kib cpu_seconds".
skopeo_one() {
    /usr/bin/time -f "%M %U %S" -a -o "$3" skopeo copy -q --all --preserve-digests \
        --src-tls-verify=false --dest-tls-verify=false "docker://$1" "docker://$2"
}
export -f skopeo_one
# Sums and maxima over such records: "peak_mib cpu_seconds".
skopeo_totals() {
    awk '{ if ($1 > m) m = $1; c += $2 + $3 } END { printf "%.1f %.1f\n", m / 1024, c }' "$1"
}

src=$(start_registry source)
echo "== generating $COMPONENTS components into $src"
"$bin" generate --registry "$src" --components "$COMPONENTS" --layer-size "$LAYER_SIZE" \
    --seed "$SEED" >"$work/release.json"
release=$(jq -r .release "$work/release.json")
unique=$(jq -r .unique_blob_bytes "$work/release.json")
echo "   release $release, $(mib "$unique") MiB of unique blobs"

# The image list skopeo copies: the mapping file of a dry run ("SRC DST" lines).
probe=$(start_registry probe)
"$bin" mirror --from "$release" --to "$probe/okd/release" --dry-run --mapping "$work/mapping.txt" >/dev/null 2>&1
stop_registry probe

# The floor: every unique byte hashed once, from a warm page cache; measured in every round
# beside the peers, since one sample of it is as noisy as one sample of them. The same bytes are
# also hashed with the registry's own implementation (Go's crypto/sha256), which on CPUs with SHA
# extensions or AVX2 can be faster than coreutils'; measured when Go is installed.
find "$storage/source-data" -path '*/blobs/*' -name data -print0 >"$work/blob-files"
xargs -0 cat <"$work/blob-files" >/dev/null
have_go=""
if command -v go >/dev/null; then
    (cd "$root/benches/registry-hash" && go build -o "$work/registry-hash" .)
    have_go=1
else
    echo "   floor with the registry's hash (Go crypto/sha256): not measured, go is not installed"
fi
: >"$work/floor.walls"
: >"$work/gofloor.walls"
measure_floors() {
    settle
    local t0 t
    t0=$(now)
    xargs -0 cat <"$work/blob-files" | sha256sum >/dev/null
    t=$(secs "$t0" "$(now)")
    echo "$t" >>"$work/floor.walls"
    local line="   floor: ${t}s to hash the registry's blob files once (coreutils sha256sum)"
    if [ -n "$have_go" ]; then
        settle
        t=$(xargs -0 "$work/registry-hash" <"$work/blob-files")
        echo "$t" >>"$work/gofloor.walls"
        line="$line, ${t}s with the registry's hash (Go crypto/sha256)"
    fi
    echo "$line"
}

: >"$work/okd.walls"
: >"$work/cli.walls"
: >"$work/par.walls"
for round in $(seq "$ROUNDS"); do
    echo "== round $round: the floors"
    measure_floors
    dst=$(start_registry "cli-$round")
    echo "== round $round: okd-streams mirror release (the binary, -j $JOBS) into $dst"
    settle
    src_cpu0=$(registry_cpu source)
    # /usr/bin/time runs programs, not shell functions: the binary with okd_cli's flags.
    /usr/bin/time -f "%e %M %U %S" -o "$work/cli-$round.time" \
        "$okd" --insecure-registry 127.0.0.1 --authfile "$OKD_NO_AUTH" mirror release "$release" \
        --to "$dst/okd/release" -j "$JOBS" --report "$work/cli-$round.json" >/dev/null 2>&1
    awk '{ print $1 }' "$work/cli-$round.time" >>"$work/cli.walls"
    run_registries_cpu "cli-$round" >"$work/cli-$round.regcpu"
    echo "   $(awk '{ printf "%.2fs, %.1f MiB peak RSS, %.1fs CPU", $1, $2 / 1024, $3 + $4 }' "$work/cli-$round.time"); registries' CPU (source, destination): $(cat "$work/cli-$round.regcpu") s"
    stop_registry "cli-$round"

    dst=$(start_registry "okd-$round")
    echo "== round $round: okd-streams mirror (-j $JOBS) into $dst"
    settle
    /usr/bin/time -f "%e %M %U %S" -o "$work/okd-$round.time" "$bin" mirror --from "$release" \
        --to "$dst/okd/release" -j "$JOBS" --report "$work/okd-$round.json" 2>/dev/null
    awk '{ print $1 }' "$work/okd-$round.time" >>"$work/okd.walls"
    echo "   $(awk '{ printf "%.2fs, %.1f MiB peak RSS, %.1fs CPU", $1, $2 / 1024, $3 + $4 }' "$work/okd-$round.time"), of which planning $(jq '.planning * 100 | round / 100' "$work/okd-$round.json")s"
    if [ "$round" -lt "$ROUNDS" ]; then stop_registry "okd-$round"; else keep_dst=$dst; fi

    dst=$(start_registry "par-$round")
    echo "== round $round: skopeo copy, 4 in parallel, into $dst"
    sed "s#$probe/#$dst/#" "$work/mapping.txt" >"$work/mapping-par.txt"
    : >"$work/par-$round.rec"
    settle
    src_cpu0=$(registry_cpu source)
    t0=$(now)
    xargs -P 4 -L 1 bash -c 'skopeo_one "$0" "$1" '"$work/par-$round.rec" <"$work/mapping-par.txt"
    t=$(secs "$t0" "$(now)")
    echo "$t" >>"$work/par.walls"
    run_registries_cpu "par-$round" >"$work/par-$round.regcpu"
    echo "   ${t}s; registries' CPU (source, destination): $(cat "$work/par-$round.regcpu") s"
    stop_registry "par-$round"
done
t_okd=$(median <"$work/okd.walls")
t_cli=$(median <"$work/cli.walls")
t_par=$(median <"$work/par.walls")
t_floor=$(median <"$work/floor.walls")
t_gofloor=""
[ -z "$have_go" ] || t_gofloor=$(median <"$work/gofloor.walls")

# Transfer archives through the binary, next to the same bytes pulled to disk and tarred, and
# untarred and pushed; ROUNDS alternating rounds, medians compared. Each peer chain runs back to
# back as a user runs it, without a sync between its steps: the writeback one step leaves is the
# next step's to pay, as it is the archive's own.
echo "== archive write and restore"
tag=$(jq -r '.images[] | select(.kind == "release") | .destination' "$work/cli-1.json" | sed 's/.*://')
: >"$work/aw.walls"
: >"$work/pulltar.walls"
: >"$work/ar.walls"
: >"$work/untarpush.walls"
for round in $(seq "$ROUNDS"); do
    rm -rf "$work/archive" "$work/layout" "$work/layout.tar"
    settle
    t0=$(now)
    okd_cli mirror release "$release" --to "archive:$work/archive" -j "$JOBS" >/dev/null 2>&1
    secs "$t0" "$(now)" >>"$work/aw.walls"
    echo >>"$work/aw.walls"
    settle
    t0=$(now)
    okd_cli mirror release "$release" --to "oci:$work/layout:okd/release" -j "$JOBS" >/dev/null 2>&1
    tar -cf "$work/layout.tar" -C "$work/layout" .
    secs "$t0" "$(now)" >>"$work/pulltar.walls"
    echo >>"$work/pulltar.walls"
    rm -rf "$work/layout"

    dst=$(start_registry "restore-$round")
    settle
    t0=$(now)
    okd_cli mirror archive "$work/archive" --to "$dst/okd/release" -j "$JOBS" \
        --cluster-resources "$work/cluster-resources" >/dev/null 2>&1
    secs "$t0" "$(now)" >>"$work/ar.walls"
    echo >>"$work/ar.walls"
    stop_registry "restore-$round"
    dst=$(start_registry "push-$round")
    rm -rf "$work/untarred"
    mkdir "$work/untarred"
    settle
    t0=$(now)
    tar -xf "$work/layout.tar" -C "$work/untarred"
    okd_cli mirror release "oci:$work/untarred:okd/release:$tag" --to "$dst/okd/release" -j "$JOBS" >/dev/null 2>&1
    secs "$t0" "$(now)" >>"$work/untarpush.walls"
    echo >>"$work/untarpush.walls"
    stop_registry "push-$round"
    echo "   round $round: write $(tail -n 1 "$work/aw.walls")s, pull+tar $(tail -n 1 "$work/pulltar.walls")s, restore $(tail -n 1 "$work/ar.walls")s, untar+push $(tail -n 1 "$work/untarpush.walls")s"
done
rm -rf "$work/archive" "$work/untarred" "$work/layout.tar"
t_aw=$(grep . "$work/aw.walls" | median)
t_pulltar=$(grep . "$work/pulltar.walls" | median)
t_ar=$(grep . "$work/ar.walls" | median)
t_untarpush=$(grep . "$work/untarpush.walls" | median)

dst=$(start_registry seq)
echo "== skopeo copy, one at a time, into $dst"
sed "s#$probe/#$dst/#" "$work/mapping.txt" >"$work/mapping-seq.txt"
: >"$work/seq.rec"
t0=$(now)
while read -r s d; do skopeo_one "$s" "$d" "$work/seq.rec"; done <"$work/mapping-seq.txt"
t_seq=$(secs "$t0" "$(now)")
stop_registry seq

# No-op re-mirrors into the last okd-streams destination.
: >"$work/noop.walls"
for i in 1 2 3; do
    t0=$(now)
    "$bin" mirror --from "$release" --to "$keep_dst/okd/release" -j "$JOBS" \
        --report "$work/noop.json" 2>/dev/null
    secs "$t0" "$(now)" >>"$work/noop.walls"
    echo >>"$work/noop.walls"
done
t_noop=$(median <"$work/noop.walls")
noop_copied=$(jq .totals.bytes_copied "$work/noop.json")
noop_present=$(jq .totals.images_present "$work/noop.json")

# Kill at random points, then run to the end. Every finished blob copy is journalled as it
# completes, so a blob copied twice would show up twice.
dst=$(start_registry killed)
echo "== kill-and-rerun check into $dst ($KILLS kills)"
RANDOM=$SEED
for i in $(seq "$KILLS"); do
    delay=$(awk -v r="$RANDOM" -v t="$t_okd" 'BEGIN { printf "%.2f", t * (0.05 + 0.6 * r / 32767) }')
    "$bin" mirror --from "$release" --to "$dst/okd/release" -j "$JOBS" \
        --journal "$work/journal.jsonl" >/dev/null 2>&1 &
    victim=$!
    sleep "$delay"
    kill -9 "$victim" 2>/dev/null || true
    wait "$victim" 2>/dev/null || true
    echo "   run $i killed after ${delay}s ($(wc -l <"$work/journal.jsonl") blob copies journalled so far)"
done
"$bin" mirror --from "$release" --to "$dst/okd/release" -j "$JOBS" \
    --journal "$work/journal.jsonl" --report "$work/final.json" 2>/dev/null
"$bin" verify --from "$release" --to "$dst/okd/release" >"$work/verify.txt"
dupes=$(jq -r '.digest + " " + .destination' "$work/journal.jsonl" | sort | uniq -d | wc -l)
journalled=$(wc -l <"$work/journal.jsonl")
unique_blobs=$(jq .totals.blobs_copied "$work/okd-1.json")
final_copied=$(jq .totals.blobs_copied "$work/final.json")

last="$work/okd-$ROUNDS"
read -r par_rss par_cpu < <(skopeo_totals "$work/par-$ROUNDS.rec")
read -r seq_rss seq_cpu < <(skopeo_totals "$work/seq.rec")
echo
echo "payload: $(jq .totals.images "$last.json") images, $(mib "$unique") MiB of unique blobs; okd-streams copied $(mib "$(jq .totals.bytes_copied "$last.json")") MiB in $(jq .totals.blobs_copied "$last.json") blobs"
printf '%-30s %10s %12s %14s %12s\n' "registry -> registry" "wall (s)" "vs okd" "peak RSS MiB" "CPU (s)"
printf '%-30s %10s %12s %14s %12s\n' "okd-streams -j $JOBS (median)" "$t_okd" "1.00x" \
    "$(awk '{ printf "%.1f", $2 / 1024 }' "$last.time")" "$(awk '{ printf "%.1f", $3 + $4 }' "$last.time")"
printf '%-30s %10s %12s %14s %12s\n' "okd-streams binary (median)" "$t_cli" "$(ratio "$t_cli" "$t_okd")" \
    "$(awk '{ printf "%.1f", $2 / 1024 }' "$work/cli-$ROUNDS.time")" "$(awk '{ printf "%.1f", $3 + $4 }' "$work/cli-$ROUNDS.time")"
printf '%-30s %10s %12s\n' "floor: sha256sum (median)" "$t_floor" "$(ratio "$t_floor" "$t_okd")"
printf '%-30s %10s %12s %14s %12s\n' "skopeo, 4 parallel (median)" "$t_par" "$(ratio "$t_par" "$t_okd")" "$par_rss" "$par_cpu"
printf '%-30s %10s %12s %14s %12s\n' "skopeo, one at a time" "$t_seq" "$(ratio "$t_seq" "$t_okd")" "$seq_rss" "$seq_cpu"
if [ -n "$t_gofloor" ]; then
    printf '%-30s %10s %12s\n' "floor: Go's sha256 (median)" "$t_gofloor" "$(ratio "$t_gofloor" "$t_okd")"
    gofloor="$(ratio "$t_cli" "$t_gofloor") of the registry's-hash floor"
else
    gofloor="registry's-hash floor not measured (no go)"
fi
echo "binary: $(ratio "$t_cli" "$t_floor") of the sha256sum floor, $gofloor, $(ratio "$t_cli" "$t_par") of 4 parallel skopeo"
# Where the CPU of the last round went: the client, the source registry serving every byte and
# the destination registry receiving, hashing, writing and syncing it. Their sum over the cores is
# the least wall time the run could take on this machine with these registries.
cores=$(nproc)
read -r cli_src cli_dst <"$work/cli-$ROUNDS.regcpu"
read -r par_src par_dst <"$work/par-$ROUNDS.regcpu"
cli_client=$(awk '{ printf "%.2f", $3 + $4 }' "$work/cli-$ROUNDS.time")
for peer in "binary:$cli_client:$cli_src:$cli_dst" "skopeo, 4 parallel:$par_cpu:$par_src:$par_dst"; do
    IFS=: read -r name client s d <<<"$peer"
    echo "CPU, round $ROUNDS, $name: client ${client}s, source registry ${s}s, destination registry ${d}s; over $cores cores at least $(awk -v a="$client" -v b="$s" -v c="$d" -v n="$cores" 'BEGIN { printf "%.2f", (a + b + c) / n }')s of wall"
done
echo "archive write ${t_aw}s vs pull to a layout and tar ${t_pulltar}s (medians): $(ratio "$t_aw" "$t_pulltar")"
echo "archive restore ${t_ar}s vs untar and push ${t_untarpush}s (medians): $(ratio "$t_ar" "$t_untarpush")"
echo "(skopeo: peak RSS of one process, CPU summed over all; okd-streams rounds: $(tr '\n' ' ' <"$work/okd.walls")s, skopeo 4 parallel rounds: $(tr '\n' ' ' <"$work/par.walls")s)"
echo
echo "no-op re-mirror: ${t_noop}s median of 3 ($noop_present images already present, $noop_copied bytes copied)"
echo "kill-and-rerun: $KILLS kills, then a run to the end that copied $final_copied blobs; $journalled blob copies journalled over all runs for $unique_blobs unique blobs (uploads the registry committed as the client was killed are not journalled, and the next run finds them present), $dupes blob(s) copied twice"
cat "$work/verify.txt"

# The targets, each said met or not met with the ratio it is judged on.
verdict() {
    awk -v a="$2" -v b="$3" -v t="$4" -v what="$1" \
        'BEGIN { r = a / b; printf "   %s: %.2fx, target %sx: %s\n", what, r, t, (r <= t) ? "met" : "NOT MET" }'
}
echo "targets:"
verdict "binary / sha256sum floor" "$t_cli" "$t_floor" 1.5
[ -z "$t_gofloor" ] || verdict "binary / registry's-hash floor" "$t_cli" "$t_gofloor" 1.5
verdict "binary / 4 parallel skopeo" "$t_cli" "$t_par" 0.4
verdict "archive write / pull and tar" "$t_aw" "$t_pulltar" 1.5
verdict "archive restore / untar and push" "$t_ar" "$t_untarpush" 1.5
[ "$dupes" -eq 0 ] || { echo "FAIL: a finished blob was copied twice" >&2; exit 1; }

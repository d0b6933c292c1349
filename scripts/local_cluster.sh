#!/usr/bin/env bash
# Distributed search on one machine, for real: a throw-away PostgreSQL server (scripts/pg_test_cluster.sh),
# a study created once, and several `nasforge worker` processes sharing it over the NAS-Bench-201 CIFAR-10
# table. Waits for the workers, prints what each one did and the study's summary, and removes the server.
#
#   bash scripts/local_cluster.sh            # 4 workers, 1000 paid evaluations, regularized evolution
#   WORKERS=8 TRIALS=3000 STRATEGY=random bash scripts/local_cluster.sh
#
# The table is $NASFORGE_NB201_TABLE, or ../shared/benchmarks/nb201/nb201_test_accuracy.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

workers=${WORKERS:-4}
trials=${TRIALS:-1000}
strategy=${STRATEGY:-evolution}
table=${NASFORGE_NB201_TABLE:-../shared/benchmarks/nb201/nb201_test_accuracy.csv}
[[ -f "$table" ]] || { echo "local_cluster: no NB201 table at $table (set NASFORGE_NB201_TABLE)" >&2; exit 1; }
command -v jq >/dev/null || { echo "local_cluster: jq is needed to summarise the study (apt-get install jq)" >&2; exit 1; }
table=$(realpath "$table")
study=local-nb201

cargo build --release -p nasforge --quiet
nasforge=$PWD/target/release/nasforge
# Owners of trials are HOST:PID:THREAD; with the host named, a worker that dies on this machine loses its
# trial at once instead of when its lease runs out.
export HOSTNAME=${HOSTNAME:-$(hostname)}

logs=$(mktemp -d "${TMPDIR:-/tmp}/nasforge-local.XXXXXX")
trap 'rm -rf "$logs"' EXIT
cluster=$(bash scripts/pg_test_cluster.sh start)
eval "$cluster"
trap 'bash scripts/pg_test_cluster.sh stop "$NASFORGE_TEST_POSTGRES_DIR" 2>/dev/null && echo "removed the PostgreSQL server"; rm -rf "$logs"' EXIT
url=$NASFORGE_TEST_POSTGRES

# Once: the study's space, strategy, evaluator, objective and budget go into the database.
"$nasforge" study create --storage "$url" --study "$study" --space nb201 --strategy "$strategy" \
    --table "$table" --metric cifar10 --trials "$trials" --seed 0

# Then any number of stateless workers: each reads the configuration and the history from the database.
echo "starting $workers workers"
started=$(date +%s.%N)
pids=()
for i in $(seq 1 "$workers"); do
    "$nasforge" worker --storage "$url" --study "$study" --json >"$logs/worker-$i.json" 2>"$logs/worker-$i.err" &
    pids+=($!)
done
statuses=()
for pid in "${pids[@]}"; do
    status=0
    wait "$pid" || status=$?
    statuses+=("$status")
done
elapsed=$(printf '%.2f' "$(echo "$(date +%s.%N) - $started" | bc)")

"$nasforge" trials --storage "$url" --study "$study" --json >"$logs/trials.json"
count() { jq "[.[] | select($1)] | length" "$logs/trials.json"; }

failed=0
for i in $(seq 1 "$workers"); do
    pid=${pids[$((i - 1))]}
    status=${statuses[$((i - 1))]}
    [[ $status -eq 0 ]] || failed=1
    stopped=$(jq -r .stopped "$logs/worker-$i.json" 2>/dev/null || echo "?")
    # Trial owners are HOST:PID:THREAD.
    recorded=$(count "(.worker | split(\":\") | .[-2]) == \"$pid\"")
    echo "worker $i (pid $pid): exit $status, stopped: $stopped, trials it recorded: $recorded"
    [[ $status -eq 0 ]] || sed 's/^/    /' "$logs/worker-$i.err"
done
echo
echo "study '$study' ($strategy on NAS-Bench-201 CIFAR-10, budget $trials) in $url"
echo "paid evaluations: $(count '.cached_from == null') (distinct architectures: $(jq '[.[] | select(.cached_from == null) | .arch] | unique | length' "$logs/trials.json"))"
echo "cache hits: $(count '.cached_from != null')"
echo "trials not complete: $(count '.state != "complete"')"
echo "trials evaluated more than once (a worker lost its lease): $(count '.attempts > 1')"
echo "wall time with $workers workers: $elapsed s"
echo "best trial:"
"$nasforge" best --storage "$url" --study "$study"
exit "$failed"

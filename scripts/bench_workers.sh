#!/usr/bin/env bash
# Coordination overhead of parallel and distributed search: the paid trials per second that one study
# sustains with N workers on the NAS-Bench-201 CIFAR-10 table. A table answers in microseconds, so what is
# measured is the store (claims, results, change feed) and each worker's study loop, not evaluation.
#
#   bash scripts/bench_workers.sh                  # N = 1 2 4 8, 2000 paid trials, 3 runs each
#   TRIALS=5000 RUNS=5 WORKERS="1 4" bash scripts/bench_workers.sh
#
# For every configuration and N: a fresh study (strategy evolution, seed 0, budget TRIALS) is created with
# `nasforge study create`, N workers are started together, and the time from their start until the last one
# exits (process start and table loading included) divides the budget; the median of RUNS runs is printed.
# Configurations:
#   postgres, processes: N `nasforge worker` processes on one PostgreSQL database of a throw-away server on
#       this machine (scripts/pg_test_cluster.sh) started with NASFORGE_PG_DURABLE=1, so PostgreSQL's own
#       defaults hold: fsync, synchronous_commit and full_page_writes on (every commit reaches the disk);
#   postgres, threads:   one `nasforge worker --workers N` process on that server;
#   sqlite, processes:   N `nasforge worker` processes on one SQLite file (WAL, synchronous=NORMAL);
#   sqlite, threads:     one `nasforge worker --workers N` process on an SQLite file.
# Every run is checked: the study must end with exactly TRIALS paid trials, all complete.
# The server, the SQLite files and the workers share this machine: with fewer cores than processes, the
# larger N oversubscribe it (the script prints the core count).
set -euo pipefail
cd "$(dirname "$0")/.."

trials=${TRIALS:-2000}
runs=${RUNS:-3}
counts=${WORKERS:-1 2 4 8}
table=${NASFORGE_NB201_TABLE:-../shared/benchmarks/nb201/nb201_test_accuracy.csv}
[[ -f "$table" ]] || { echo "bench_workers: no NB201 table at $table (set NASFORGE_NB201_TABLE)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench_workers: jq is needed to check each run (apt-get install jq)" >&2; exit 1; }
table=$(realpath "$table")

cargo build --release -p nasforge --quiet
nasforge=$PWD/target/release/nasforge
export HOSTNAME=${HOSTNAME:-$(hostname)}

work=$(mktemp -d "${TMPDIR:-/tmp}/nasforge-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cluster=$(NASFORGE_PG_DURABLE=1 bash scripts/pg_test_cluster.sh start)
eval "$cluster"
trap 'bash scripts/pg_test_cluster.sh stop "$NASFORGE_TEST_POSTGRES_DIR" 2>/dev/null; rm -rf "$work"' EXIT
server=${NASFORGE_TEST_POSTGRES%/*}

# One run: creates a fresh store and study, starts the workers, prints the paid trials per second.
one_run() {
    local backend=$1 mode=$2 n=$3 run=$4 url
    if [[ $backend == postgres ]]; then
        psql -q -v ON_ERROR_STOP=1 "$server/postgres" -c "CREATE DATABASE bench_$run" >/dev/null
        url=$server/bench_$run
    else
        url=sqlite:$work/bench_$run.db
    fi
    "$nasforge" study create --storage "$url" --study bench --space nb201 --strategy evolution --table "$table" \
        --metric cifar10 --trials "$trials" --seed 0 >/dev/null
    local started ended pids=() i status=0
    started=$(date +%s.%N)
    if [[ $mode == threads ]]; then
        "$nasforge" worker --storage "$url" --study bench --workers "$n" --json >"$work/run_$run.0" 2>&1 || status=$?
    else
        for ((i = 0; i < n; i++)); do
            "$nasforge" worker --storage "$url" --study bench --json >"$work/run_$run.$i" 2>&1 &
            pids+=($!)
        done
        for i in "${pids[@]}"; do wait "$i" || status=$?; done
    fi
    ended=$(date +%s.%N)
    [[ $status -eq 0 ]] || { echo "bench_workers: a worker failed:" >&2; cat "$work"/run_"$run".* >&2; exit 1; }
    local paid hits
    "$nasforge" trials --storage "$url" --study bench --json >"$work/trials.json"
    paid=$(jq '[.[] | select(.cached_from == null and .state == "complete")] | length' "$work/trials.json")
    hits=$(jq '[.[] | select(.cached_from != null)] | length' "$work/trials.json")
    [[ $paid -eq $trials ]] || { echo "bench_workers: $backend $mode N=$n ended with $paid paid trials, not $trials" >&2; exit 1; }
    echo "$backend $mode N=$n run: $(echo "scale=3; $ended - $started" | bc) s, $paid paid, $hits cache hits" >&2
    echo "scale=0; $trials / ($ended - $started)" | bc
}

median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "nasforge workers benchmark: $trials paid trials per run, median of $runs runs, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PostgreSQL: $(psql -qAt "$server/postgres" -c 'SHOW server_version') with fsync=$(psql -qAt "$server/postgres" -c 'SHOW fsync'), synchronous_commit=$(psql -qAt "$server/postgres" -c 'SHOW synchronous_commit') (NASFORGE_PG_DURABLE=1); SQLite: WAL, synchronous=NORMAL"
results=()
for config in "postgres processes" "postgres threads" "sqlite processes" "sqlite threads"; do
    row="$config"
    for n in $counts; do
        rates=()
        for ((r = 0; r < runs; r++)); do
            rate=$(one_run $config "$n" "${config// /_}_${n}_$r")
            rates+=("$rate")
        done
        row+=" $(median "${rates[@]}")"
    done
    results+=("$row")
done

echo
printf '| backend | workers |'
for n in $counts; do printf ' N=%s |' "$n"; done
printf '\n|---|---|'
for n in $counts; do printf -- '---|'; done
echo
for row in "${results[@]}"; do
    read -r backend mode rates <<<"$row"
    printf '| %s | %s |' "$backend" "$mode"
    for rate in $rates; do printf ' %s |' "$rate"; done
    echo
done
echo "(paid trials per second, wall clock from the workers' start to the last one's exit; load average now $(cut -d' ' -f1-3 /proc/loadavg))"

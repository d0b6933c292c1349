# Sourced by the PyTorch throughput comparisons (bench_mbconv.sh, bench_supernet.sh): `throughput_rounds LABEL
# ROUNDS OURS… -- THEIRS…` runs our example and its PyTorch counterpart alternately ROUNDS times, each printing
# "… (N parameters) …: R images/s", stops if the parameter counts differ, and prints each round, the medians,
# the ratio of medians and the spread of the per-round ratios.
throughput_rounds() {
    local label=$1 rounds=$2
    shift 2
    local ours_cmd=() theirs_cmd=()
    while [[ $1 != -- ]]; do ours_cmd+=("$1"); shift; done
    shift
    theirs_cmd=("$@")
    rate() { sed -n 's/.*: \([0-9]*\) images\/s$/\1/p' <<<"$1"; }
    params() { sed -n 's/.*(\([0-9]*\) parameters).*/\1/p' <<<"$1"; }
    median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    local ours=() theirs=() ratios=() o t round
    for round in $(seq "$rounds"); do
        o=$("${ours_cmd[@]}")
        t=$(OMP_NUM_THREADS=2 "${theirs_cmd[@]}")
        echo "$label round $round: $o | $t"
        if [[ $(params "$o") != "$(params "$t")" ]]; then
            echo "the two networks differ: $(params "$o") against $(params "$t") parameters" >&2
            exit 1
        fi
        ours+=("$(rate "$o")") theirs+=("$(rate "$t")")
        ratios+=("$(awk "BEGIN {printf \"%.2f\", $(rate "$o") / $(rate "$t")}")")
    done
    o=$(printf '%s\n' "${ours[@]}" | median)
    t=$(printf '%s\n' "${theirs[@]}" | median)
    local spread
    spread=$(printf '%s\n' "${ratios[@]}" | sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {print lo "–" hi}')
    echo "$label, median of $rounds rounds: burn flex + nasforge kernels $o images/s, PyTorch $t images/s, ratio $(awk "BEGIN {printf \"%.2f\", $o / $t}") (per-round ratios $spread)"
}

#!/usr/bin/env bash
# Runs bench/cluster.sh for ours, the Python package and hashicorp/memberlist, one after the
# other on this machine, at each member count, and prints one markdown table per count with
# the ratio ours ÷ memberlist.
#
#   bench/compare.sh [-n "20 80 160 300"] [--impls "rust python memberlist"] [--idle S] [--timeout S]
#                    [--csv FILE]
#
# --csv writes the figures in the format of docs/plots/real-processes.csv (the plots read it).
# A run that does not finish within its timeout shows "never" (the phase it stopped in is
# in the log). The raw output of every run is kept under target/bench-compare/.
set -uo pipefail

counts="20 80 160 300"
impls="rust python memberlist"
idle=10
timeout=180
csv=
while [[ $# -gt 0 ]]; do
    case $1 in
        -n) counts=$2; shift 2 ;;
        --impls) impls=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --csv) csv=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
out=${CARGO_TARGET_DIR:-$here/../target}/bench-compare
mkdir -p "$out"
[[ -z $csv ]] || echo "impl,members,join_s,meta_s,offline_s,dgrams_per_s,cpu_pct,rss_kib" > "$csv"

# The figures cluster.sh prints, in its order, and a short label for each.
labels=("join (s)" "metadata change to all (s)" "kill → first SUSPECT (s)"
    "kill → OFFLINE everywhere (s)" "idle datagrams/member/s" "idle packets (UDP+TCP)/member/s"
    "idle CPU/member (%)"
    "RSS/member, mean (KiB)" "live members reported SUSPECT/OFFLINE" "last member started (s)")

# figure RUN_LOG INDEX: the INDEX-th figure of a finished run, or "never".
figure() {
    local value
    value=$(awk -v k="$2" 'NR > 1 && NF { v[++i] = $NF; if ($0 ~ /mean \/ max/) v[i] = $(NF - 2) }
        END { print v[k] }' "$1")
    echo "${value:-never}"
}

for n in $counts; do
    declare -A fig=()
    for impl in $impls; do
        log=$out/$impl-$n.log
        echo "== $impl, $n members" >&2
        if ! "$here/cluster.sh" -n "$n" --impl "$impl" --idle "$idle" --timeout "$timeout" \
            > "$log" 2> "$log.err"; then
            echo "   did not finish: $(tail -n 1 "$log.err")" >&2
        fi
        for i in "${!labels[@]}"; do fig[$impl,$i]=$(figure "$log" $((i + 1))); done
        if [[ -n $csv ]]; then
            name=$impl; [[ $impl == rust ]] && name=ours
            # join, metadata, OFFLINE everywhere, datagrams, CPU, RSS (labels 0, 1, 3, 4, 6, 7).
            echo "$name,$n,${fig[$impl,0]},${fig[$impl,1]},${fig[$impl,3]},${fig[$impl,4]},${fig[$impl,6]},${fig[$impl,7]}" >> "$csv"
        fi
    done
    echo
    echo "### $n members"
    echo
    header="| figure |"; rule="| --- |"
    for impl in $impls; do header+=" $impl |"; rule+=" --- |"; done
    if [[ " $impls " == *" rust "* && " $impls " == *" memberlist "* ]]; then
        header+=" ours ÷ memberlist |"; rule+=" --- |"
    fi
    echo "$header"; echo "$rule"
    for i in "${!labels[@]}"; do
        row="| ${labels[$i]} |"
        for impl in $impls; do row+=" ${fig[$impl,$i]} |"; done
        if [[ $header == *"÷"* ]]; then
            row+=" $(awk -v a="${fig[rust,$i]}" -v b="${fig[memberlist,$i]}" 'BEGIN {
                if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }') |"
        fi
        echo "$row"
    done
    unset fig
done

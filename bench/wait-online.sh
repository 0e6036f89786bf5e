# Sourced by bench/cluster.sh and bench/join-cpu.sh: wait_all_online returns once every one of
# the $n members (directories $work/node0 … $work/node$((n - 1))) lists all others in .online.
# The wait must not compete with the members for the CPU: each pass looks only at members not
# yet seen complete (no subshell, no fork), and a final pass over all of them confirms that they
# all see all at once. Calls `check_deadline "all ONLINE"` between passes. Needs `shopt -s
# nullglob dotglob`.
wait_all_online() {
    local seen_all=() all i entries
    while :; do
        all=1
        for ((i = 0; i < n; i++)); do
            [[ -n ${seen_all[i]:-} ]] && continue
            entries=("$work/node$i/.online"/*)
            if (( ${#entries[@]} == n - 1 )); then seen_all[i]=1; else all=0; break; fi
        done
        if (( all )); then
            for ((i = 0; i < n; i++)); do
                entries=("$work/node$i/.online"/*)
                (( ${#entries[@]} == n - 1 )) || { all=0; seen_all=(); break; }
            done
        fi
        (( all )) && return 0
        check_deadline "all ONLINE"; sleep 0.02
    done
}

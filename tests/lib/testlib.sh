# Shared helpers for the shell test suites. Sourced, not executed.
# Every suite ends with exactly one "N passed, N failed[, N skipped]" line.

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_CURRENT=""
T_CURRENT_FAILED=0

t_begin() {
        T_CURRENT="$1"
        T_CURRENT_FAILED=0
}

# check DESCRIPTION COMMAND...: runs the command, records a failure if it fails.
check() {
        local what="$1"
        shift
        if ! "$@"; then
                echo "  FAIL [$T_CURRENT] $what" >&2
                T_CURRENT_FAILED=1
        fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
        if [ "$2" != "$3" ]; then
                echo "  FAIL [$T_CURRENT] $1: expected '$2', got '$3'" >&2
                T_CURRENT_FAILED=1
        fi
}

t_end() {
        if [ "$T_CURRENT_FAILED" = 0 ]; then
                echo "ok $T_CURRENT"
                T_PASSED=$((T_PASSED + 1))
        else
                echo "FAIL $T_CURRENT"
                T_FAILED=$((T_FAILED + 1))
        fi
}

t_skip() {
        echo "skip $1: $2"
        T_SKIPPED=$((T_SKIPPED + 1))
}

t_summary() {
        if [ "$T_SKIPPED" -gt 0 ]; then
                echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
        else
                echo "$T_PASSED passed, $T_FAILED failed"
        fi
        [ "$T_FAILED" = 0 ]
}

# wait_for TIMEOUT_SECONDS COMMAND...: polls every 20 ms.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        while ! "$@"; do
                [ "$SECONDS" -ge "$deadline" ] && return 1
                sleep 0.02
        done
}

# count_lines FILE PATTERN
count_lines() {
        local n
        n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
        echo "${n:-0}"
}

# write_meminfo FILE TOTAL FREE BUFFERS CACHED [AVAILABLE]
write_meminfo() {
        printf 'MemTotal:       %s kB\nMemFree:        %s kB\nMemAvailable:   %s kB\nBuffers:        %s kB\nCached:         %s kB\nSwapCached:            0 kB\n' \
                "$2" "$3" "${6:-$3}" "$4" "$5" > "$1.tmp"
        mv "$1.tmp" "$1"
}

#!/bin/bash
# The daemon against the real /sys/kernel/mm/ksm. Memory figures come from a
# controlled meminfo (--proc-dir) so each decision is known in advance. Every
# knob is saved first and restored afterwards, also on failure or interrupt.
# Usage: test_real_kernel.sh KSMTUNED_BIN
set -uo pipefail

KSMTUNED=$(realpath "${1:?ksmtuned binary}")
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/ksm_knobs.sh"

if ! ksm_usable; then
        echo "SKIP: real KSM not usable: $KSM_WHY"
        exit 77
fi

WORK=$(mktemp -d /tmp/ksmtuned-kernel.XXXXXX)
cleanup() {
        ksm_restore
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ksm_save
# Start from a known kernel state regardless of what the host had.
[ -f "$KSM_DIR/advisor_mode" ] && echo none > "$KSM_DIR/advisor_mode"
echo 0 > "$KSM_DIR/run"

mkdir -p "$WORK/proc"
printf 'KSM_MONITOR_INTERVAL=3600\n' > "$WORK/conf"
once() {
        "$KSMTUNED" --once -d --config "$WORK/conf" --settings "$WORK/none.cfg" \
                --proc-dir "$WORK/proc" "$@" > "$WORK/out" 2> "$WORK/err"
}
real() { cat "$KSM_DIR/$1"; }

t_begin "start on the real kernel: pages_to_scan, sleep_millisecs, run written"
write_meminfo "$WORK/proc/meminfo" 8388608 100000 0 0
once
check_eq "exit status" 0 $?
check_eq "pages_to_scan" 300 "$(real pages_to_scan)"
check_eq "sleep_millisecs" 20 "$(real sleep_millisecs)"
check_eq "run" 1 "$(real run)"
t_end

t_begin "stop on the real kernel writes run=0 only"
echo 777 > "$KSM_DIR/pages_to_scan"
write_meminfo "$WORK/proc/meminfo" 8388608 8000000 0 0
once
check_eq "exit status" 0 $?
check_eq "run" 0 "$(real run)"
check_eq "pages_to_scan untouched" 777 "$(real pages_to_scan)"
t_end

t_begin "--dry-run on the real kernel writes nothing"
write_meminfo "$WORK/proc/meminfo" 8388608 100000 0 0
once --dry-run
check_eq "exit status" 0 $?
check_eq "run still 0" 0 "$(real run)"
check_eq "pages_to_scan untouched" 777 "$(real pages_to_scan)"
check "explains" grep -q "dry run: nothing was written" "$WORK/out"
t_end

if [ -f "$KSM_DIR/advisor_mode" ]; then
        t_begin "advisor_mode=scan-time owns pages_to_scan: run and sleep still managed"
        echo scan-time > "$KSM_DIR/advisor_mode"
        advised=$(real pages_to_scan)
        write_meminfo "$WORK/proc/meminfo" 8388608 100000 0 0
        once
        check_eq "exit status" 0 $?
        check_eq "pages_to_scan left to the advisor" "$advised" "$(real pages_to_scan)"
        check_eq "sleep_millisecs" 20 "$(real sleep_millisecs)"
        check_eq "run" 1 "$(real run)"
        check "says so once" grep -q "advisor_mode=scan-time) owns pages_to_scan" "$WORK/err"
        check "no write error reported" bash -c "! grep -q 'Failed to write' '$WORK/err'"
        check "the report shows it" grep -q "owned by the KSM advisor, skipped" "$WORK/out"
        echo none > "$KSM_DIR/advisor_mode"
        echo 0 > "$KSM_DIR/run"
        t_end
else
        t_skip "advisor" "kernel has no advisor_mode (before 6.8)"
fi

t_begin "daemon cycles on the real kernel, then every knob restored"
write_meminfo "$WORK/proc/meminfo" 8388608 100000 0 0
printf 'KSM_MONITOR_INTERVAL=3600\nDEBUG=1\nLOGFILE=%s/log\n' "$WORK" > "$WORK/conf"
"$KSMTUNED" --foreground --config "$WORK/conf" --settings "$WORK/none.cfg" --proc-dir "$WORK/proc" 2>/dev/null &
daemon=$!
wait_for 10 bash -c "awk '/^SigBlk:/ {exit !(and(strtonum(\"0x\" \$2), 512))}' /proc/$daemon/status 2>/dev/null" ||
        wait_for 10 grep -q . /proc/$daemon/status
sleep 0.2
for want in 300 600; do
        before=$(count_lines "$WORK/log" "decision: ")
        kill -USR1 $daemon
        wait_for 10 bash -c "[ \$(grep -c 'decision: ' '$WORK/log') -gt $before ]"
        check_eq "pages_to_scan after a cycle" "$want" "$(real pages_to_scan)"
done
kill -TERM $daemon; wait $daemon
check_eq "SIGTERM exit status" 0 $?
check_eq "KSM left running on exit, as stock" 1 "$(real run)"
ksm_restore
check "every knob restored" ksm_check_restored
t_end

t_summary

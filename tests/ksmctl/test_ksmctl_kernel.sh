#!/bin/bash
# ksmctl against the real kernel: two stand-in VMs with identical mergeable
# memory, KSM started with "ksmctl start" and made to scan fast, then
# "ksmctl status/vms/metrics --no-daemon" must show the sharing that sysfs
# and /proc/PID/ksm_stat show. Every knob of /sys/kernel/mm/ksm is saved
# first and restored afterwards, on failure too (tests/lib/ksm_knobs.sh).
#
# Usage: test_ksmctl_kernel.sh KSMCTL_BIN FAKE_VM_BIN
# Exit 77 (skipped) without root, without KSM, or with a read-only sysfs.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/testlib.sh
. "$HERE/../lib/testlib.sh"
# shellcheck source=../lib/ksm_knobs.sh
. "$HERE/../lib/ksm_knobs.sh"

if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
        echo "SKIP: binaries not built (usage: $0 KSMCTL FAKE_VM)"
        exit 77
fi
if ! command -v python3 > /dev/null; then
        echo "SKIP: python3 is not installed (needed to parse the JSON output)"
        exit 77
fi
if ! ksm_usable; then
        echo "SKIP: $KSM_WHY"
        exit 77
fi
KSMCTL=$(realpath "$1")
FAKE_VM=$(realpath "$2")

WORK=$(mktemp -d /tmp/ksmctl-kernel.XXXXXX)
PIDS=()
stop_vms() {
        local p
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null; done
        wait 2> /dev/null
        PIDS=()
}
# run=2 unmerges what the stand-in VMs left: with run=0 alone the kernel
# keeps reporting pages_shared/pages_sharing of pages no process maps any
# more, and the next test (or an operator) would read stale savings.
unmerge() {
        echo 2 > "$KSM_DIR/run" 2> /dev/null || echo "warning: could not write run=2" >&2
}
cleanup() {
        stop_vms
        unmerge
        ksm_restore
        rm -rf "$WORK"
}
ksm_save
trap cleanup EXIT
trap 'exit 1' INT TERM

# Reading verbs are run with --no-daemon; no system bus is reachable either.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-such-bus-socket"
PAGE=$(getconf PAGESIZE)
HAVE_KSM_STAT=0
[ -r /proc/self/ksm_stat ] && HAVE_KSM_STAT=1
TAG="kkt-$$"
MIB_PER_VM=32
ln -s "$FAKE_VM" "$WORK/qemu-system-x86_64"

# start_vm NAME: a mergeable stand-in VM (fake_vm fills every page with the
# same non-zero byte, in every process), counted by the built-in rules.
start_vm() {
        local ready="$WORK/ready.$RANDOM$RANDOM"
        FAKE_VM_MERGEABLE=1 FAKE_VM_READY=$ready bash -c 'exec -a qemu-system-x86_64 "$@"' x \
                "$WORK/qemu-system-x86_64" -enable-kvm -m "$MIB_PER_VM" -name "$1" &
        VM=$!
        PIDS+=("$VM")
        wait_for 10 test -s "$ready"
}
merging_pages() { awk '/^ksm_merging_pages / {print $2}' "/proc/$1/ksm_stat" 2> /dev/null; }
sharing() { cat "$KSM_DIR/pages_sharing"; }
merged() {
        [ "$(sharing)" -gt 0 ] || return 1
        [ "$HAVE_KSM_STAT" = 1 ] || return 0
        local p
        for p in "${VM_PIDS[@]}"; do
                [ "$(merging_pages "$p")" -gt 0 ] 2> /dev/null || return 1
        done
}

# stable OUTFILE COMMAND...: runs COMMAND until pages_sharing reads the same
# before and after it (ksmd may be merging meanwhile); SHARING_NOW is that value.
stable() {
        local out=$1 a b i
        shift
        for ((i = 0; i < 50; i++)); do
                a=$(sharing)
                "$@" > "$out" 2> "$WORK/err"
                b=$(sharing)
                if [ "$a" = "$b" ]; then
                        SHARING_NOW=$a
                        return 0
                fi
                sleep 0.2
        done
        SHARING_NOW=""
        return 1
}

t_begin "stand-in VMs merge once ksmctl start has run KSM"
VM_PIDS=()
start_vm "$TAG-a"
VM_PIDS+=("$VM")
start_vm "$TAG-b"
VM_PIDS+=("$VM")
check_eq "two VMs started" 2 "${#VM_PIDS[@]}"
# The kernel's advisor (6.8+) owns pages_to_scan in scan-time mode.
if [ -f "$KSM_DIR/advisor_mode" ] && grep -q '\[scan-time\]' "$KSM_DIR/advisor_mode"; then
        echo none > "$KSM_DIR/advisor_mode"
fi
echo 5000 > "$KSM_DIR/pages_to_scan"
echo 1 > "$KSM_DIR/sleep_millisecs"
"$KSMCTL" start > "$WORK/out" 2>&1
check_eq "ksmctl start: exit status" 0 $?
check_eq "ksmctl start: run=1" 1 "$(cat "$KSM_DIR/run")"
check "pages_sharing > 0 (and each VM merging) within 60 s" wait_for 60 merged
t_end

t_begin "status --no-daemon: MB shared equals sysfs pages_sharing x page size"
check "a stable reading" stable "$WORK/status.json" "$KSMCTL" --no-daemon status --json
if [ -n "$SHARING_NOW" ]; then
        check "JSON: shared_bytes == pages_sharing x $PAGE, > 0" python3 - "$WORK/status.json" "$SHARING_NOW" "$PAGE" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sharing, page = int(sys.argv[2]), int(sys.argv[3])
assert d["source"] == "sysfs", d["source"]
assert d["run"] == 1, d["run"]
assert d["page_size"] == page, d["page_size"]
assert d["pages_sharing"] == sharing, (d["pages_sharing"], sharing)
assert d["shared_bytes"] == sharing * page > 0, (d["shared_bytes"], sharing * page)
assert d["shared_mb"] == round(sharing * page / 1048576, 1), d["shared_mb"]
PY
fi
check "a stable human reading" stable "$WORK/status.txt" "$KSMCTL" --no-daemon status
if [ -n "$SHARING_NOW" ]; then
        MB=$(awk -v s="$SHARING_NOW" -v p="$PAGE" 'BEGIN {printf "%.1f", s * p / 1048576}')
        check "human: $MB MB shared (pages_sharing $SHARING_NOW)" \
                grep -q "^Shared: *$MB MB shared (pages_sharing $SHARING_NOW," "$WORK/status.txt"
        check "human: MB shared > 0" test "$MB" != "0.0"
        check "human: running" grep -q "^KSM: *running (run=1)" "$WORK/status.txt"
fi
check "metrics: a stable reading" stable "$WORK/metrics.prom" "$KSMCTL" --no-daemon metrics
if [ -n "$SHARING_NOW" ]; then
        check_eq "metrics: ksm_shared_bytes" $((SHARING_NOW * PAGE)) "$(awk '$1 == "ksm_shared_bytes" {print $2}' "$WORK/metrics.prom")"
fi
t_end

if [ "$HAVE_KSM_STAT" = 1 ]; then
        t_begin "vms --no-daemon as root: the stand-in VMs merge pages (ksm_stat)"
        "$KSMCTL" --no-daemon vms --json > "$WORK/vms.json" 2> "$WORK/err"
        check_eq "--json: exit status" 0 $?
        check "--json: each VM with merging pages > 0, sorted by savings" python3 - "$WORK/vms.json" "${VM_PIDS[@]}" <<'PY'
import json, sys
vms = json.load(open(sys.argv[1]))
by_pid = {v["pid"]: v for v in vms}
for pid in map(int, sys.argv[2:]):
    v = by_pid.get(pid)
    assert v is not None, "pid %d not listed" % pid
    assert isinstance(v["merging_pages"], int) and v["merging_pages"] > 0, v
    assert v["merged_bytes"] > 0, v
key = lambda v: (-(v["profit_bytes"] or 0), -(v["merging_pages"] or 0), v["pid"])
assert vms == sorted(vms, key=key), "not sorted by savings"
PY
        "$KSMCTL" --no-daemon vms > "$WORK/vms.txt" 2> "$WORK/err"
        check_eq "human: exit status" 0 $?
        for i in 0 1; do
                # PID NAME RSS MERGED(non-zero, with a unit) ZERO PROFIT
                check "human: ${VM_PIDS[$i]} shows merged memory" \
                        grep -Eq "^ *${VM_PIDS[$i]} +$TAG-[ab] +[0-9.]+ MiB +[0-9.]+ [KMG]iB +[0-9]+ +-?[0-9.]+ MiB$" "$WORK/vms.txt"
        done
        t_end
else
        t_skip "vms --no-daemon with ksm_stat figures" "/proc/PID/ksm_stat is missing (Linux < 6.1)"
fi

t_begin "ksmctl stop, then every knob restored"
"$KSMCTL" stop > "$WORK/out" 2>&1
check_eq "ksmctl stop: exit status" 0 $?
check_eq "ksmctl stop: run=0" 0 "$(cat "$KSM_DIR/run")"
stop_vms
unmerge
ksm_restore
check "every knob reads back as saved" ksm_check_restored
check_eq "nothing left merged" 0 "$(cat "$KSM_DIR/pages_sharing")"
t_end

t_summary

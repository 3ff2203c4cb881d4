#!/bin/bash
# End to end on the real kernel: the daemon drives the real /sys/kernel/mm/ksm
# while stand-in VMs (bench/workload_vm.c) hold mergeable guest memory, and
# the kernel really merges it.
#
#   1. Two VMs (qemu-system-x86_64 -enable-kvm -m 64 -name e2e-vmN), 60 % of
#      their pages identical across both, the rest unique.
#   2. The daemon runs on the real sysfs, with a fake meminfo (--proc-dir):
#      16 GiB total, 1 GB free, so free < threshold and every cycle boosts.
#      KSM_MONITOR_INTERVAL=1, npages 5000 (boost = max), sleep 10 ms.
#   3. Asserted: run=1 with the configured pages_to_scan and sleep_millisecs;
#      the daemon counted both VMs; pages_sharing rises by at least 90 % of the
#      identical pages within MAX_SCANS full scans (full_scans) after run=1,
#      each VM has that many merged pages (/proc/PID/ksm_stat) and no unique
#      page was merged.
#   4. The VMs exit and meminfo shows plenty free: the daemon writes run=0 in
#      its next cycle, and saw the VMs go.
#   5. The daemon exits 0 on SIGTERM. Cleanup (also on failure or interrupt,
#      from the EXIT trap): stop the processes, run=2 to unmerge what is left
#      (the dead VMs' stable nodes, which a stopped ksmd never drops), then
#      every knob back to its saved value, and that is checked.
#
# Usage: test_merge.sh KSMTUNED_BIN WORKLOAD_VM_BIN
# Exit 0 pass, 1 fail, 77 skip (no /sys/kernel/mm/ksm, read-only, not root).
set -uo pipefail

KSMTUNED=$(realpath "${1:?ksmtuned binary}")
WORKLOAD_VM=$(realpath "${2:?workload_vm binary}")
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/../lib/ksm_knobs.sh"

VM_MB=64
SPEC="seed=7,identical=60,zero=0,volatile=0"
MIN_FRACTION_PCT=90 # of the identical pages, merged
MAX_SCANS=6         # full scans after run=1 to get there
MERGE_TIMEOUT=60    # seconds, whatever the scans

if ! ksm_usable; then
        echo "SKIP: real KSM not usable: $KSM_WHY"
        exit 77
fi
for f in full_scans pages_sharing pages_shared; do
        if [ ! -r "$KSM_DIR/$f" ]; then
                echo "SKIP: $KSM_DIR/$f is missing"
                exit 77
        fi
done

WORK=$(mktemp -d /tmp/ksmtuned-e2e.XXXXXX)
VM_PIDS=()
DAEMON=
cleanup() {
        local p i
        trap '' INT TERM
        [ -z "$DAEMON" ] || kill -TERM "$DAEMON" 2>/dev/null
        for p in "${VM_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
        wait 2>/dev/null
        if [ "${#KSM_SAVED[@]}" -gt 0 ]; then
                # Unmerge and drop every rmap item (synchronous), so that no
                # stale sharing of our dead VMs is left counted, then restore.
                echo 2 >"$KSM_DIR/run" 2>/dev/null || echo "warning: could not write run=2" >&2
                for ((i = 0; i < 100; i++)); do
                        [ "$(cat "$KSM_DIR/pages_shared")" = 0 ] && break
                        sleep 0.1
                done
                ksm_restore
                if ! ksm_check_restored; then
                        echo "FAIL: KSM knobs not restored" >&2
                        rm -rf "$WORK"
                        exit 1
                fi
        fi
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ksm_save
# A known kernel state: the advisor off (it would own pages_to_scan), nothing
# merged, KSM stopped. run=2 unmerges synchronously and also drops the stable
# nodes of processes that exited while ksmd was stopped, which would otherwise
# still be counted in pages_sharing and vanish under the test's feet.
[ -f "$KSM_DIR/advisor_mode" ] && echo none >"$KSM_DIR/advisor_mode"
echo 2 >"$KSM_DIR/run"
echo 0 >"$KSM_DIR/run"
real() { cat "$KSM_DIR/$1"; }

mkdir -p "$WORK/proc"
write_meminfo "$WORK/proc/meminfo" 16777216 1000000 0 0 # 16 GiB, 1 GB free: boost
cat >"$WORK/conf" <<EOF
KSM_MONITOR_INTERVAL=1
KSM_NPAGES_BOOST=5000
KSM_NPAGES_MAX=5000
KSM_SLEEP_MSEC=10
DEBUG=1
LOGFILE=$WORK/log
EOF
echo 'dbus = { enabled = false; };' >"$WORK/settings.cfg"
ln -s "$WORKLOAD_VM" "$WORK/qemu-system-x86_64"

# ---------------------------------------------------------------- VMs
start_vm() { # NAME
        (
                export WORKLOAD_SPEC=$SPEC WORKLOAD_READY=$WORK/$1.ready
                exec -a qemu-system-x86_64 "$WORK/qemu-system-x86_64" -enable-kvm -m "$VM_MB" -name "$1"
        ) </dev/null >"$WORK/$1.out" 2>&1 &
        VM_PIDS+=($!)
}
t_begin "two stand-in VMs with mergeable guest memory start"
start_vm e2e-vm1
start_vm e2e-vm2
for n in 1 2; do
        check "VM $n ready" wait_for 30 test -s "$WORK/e2e-vm$n.ready"
done
IDENTICAL=$(sed -n 's/.* identical=\([0-9]*\) .*/\1/p' "$WORK/e2e-vm1.ready" 2>/dev/null)
check "the VM reports its identical pages" test -n "$IDENTICAL"
IDENTICAL=${IDENTICAL:-0}
check "the VMs look like QEMU" grep -q '^qemu-system-x86$' "/proc/${VM_PIDS[0]}/comm"
t_end
[ "$T_FAILED" = 0 ] || { t_summary; exit 1; }

# ------------------------------------------------------------- merging
t_begin "the daemon starts KSM on the real kernel"
base_sharing=$(real pages_sharing)
"$KSMTUNED" --foreground --config "$WORK/conf" --settings "$WORK/settings.cfg" \
        --proc-dir "$WORK/proc" 2>"$WORK/stderr" &
DAEMON=$!
is_running() { [ "$(real run)" = 1 ]; }
check "run=1 within 10 s" wait_for 10 is_running
scans0=$(real full_scans)
t0=$SECONDS
check_eq "pages_to_scan" 5000 "$(real pages_to_scan)"
check_eq "sleep_millisecs" 10 "$(real sleep_millisecs)"
line=$(grep 'committed [0-9]* kB in [0-9]* VMs' "$WORK/log" | tail -n 1)
vms_before=$(sed -E 's/.*committed [0-9]+ kB in ([0-9]+) VMs.*/\1/' <<<"$line")
committed_before=$(sed -E 's/.*committed ([0-9]+) kB in.*/\1/' <<<"$line")
check "the daemon counted both VMs ($line)" test "${vms_before:-0}" -ge 2
check "their RSS is committed ($line)" test "${committed_before:-0}" -ge $((2 * VM_MB * 1024 * 95 / 100))
t_end

merged_pages() { # PID: ksm_merging_pages of /proc/PID/ksm_stat, or -
        sed -n 's/^ksm_merging_pages \([0-9]*\)$/\1/p' "/proc/$1/ksm_stat" 2>/dev/null || echo -
}
target=$((IDENTICAL * MIN_FRACTION_PCT / 100)) # 2 VMs: pages_sharing = identical pages
merged_enough() {
        [ $(($(real pages_sharing) - base_sharing)) -ge "$target" ] && return 0
        [ $(($(real full_scans) - scans0)) -ge "$MAX_SCANS" ] && return 0
        return 1
}
t_begin "pages_sharing reaches $MIN_FRACTION_PCT % of the identical pages within $MAX_SCANS full scans"
wait_for "$MERGE_TIMEOUT" merged_enough
sharing=$(($(real pages_sharing) - base_sharing))
scans=$(($(real full_scans) - scans0))
echo "  merged: pages_sharing +$sharing of $IDENTICAL identical pages after $scans full scans, $((SECONDS - t0)) s"
check "pages_sharing +$sharing >= $target (after $scans full scans)" test "$sharing" -ge "$target"
if [ -r "/proc/${VM_PIDS[0]}/ksm_stat" ]; then
        for p in "${VM_PIDS[@]}"; do
                m=$(merged_pages "$p")
                check "VM $p: $m merged pages >= $target" test "${m:-0}" -ge "$target"
                # Unique pages must never merge: at most the identical pages.
                check "VM $p: $m merged pages <= $IDENTICAL identical pages" test "${m:-0}" -le "$IDENTICAL"
        done
fi
check_eq "still running" 1 "$(real run)"
t_end

# ------------------------------------------------------------- stopping
t_begin "the VMs exit, memory is plentiful: the daemon stops KSM"
for p in "${VM_PIDS[@]}"; do kill -TERM "$p"; done
for p in "${VM_PIDS[@]}"; do wait "$p"; done
VM_PIDS=()
write_meminfo "$WORK/proc/meminfo" 16777216 15000000 0 0 # 15 GB free
is_stopped() { [ "$(real run)" = 0 ]; }
check "run=0 within 10 s" wait_for 10 is_stopped
line=$(grep 'committed [0-9]* kB in [0-9]* VMs' "$WORK/log" | tail -n 1)
vms_after=$(sed -E 's/.*committed [0-9]+ kB in ([0-9]+) VMs.*/\1/' <<<"$line")
check "the daemon saw both VMs go ($vms_before -> $line)" test "${vms_after:-99}" -le $((vms_before - 2))
check "it logged the stop" grep -q 'decision: stop: run=0' "$WORK/log"
t_end

t_begin "the daemon exits 0 on SIGTERM and leaves KSM stopped"
kill -TERM "$DAEMON"
wait "$DAEMON"
check_eq "exit status" 0 $?
DAEMON=
check_eq "run" 0 "$(real run)"
check "no write errors" bash -c "! grep -q 'Failed to write' '$WORK/stderr'"
t_end

t_begin "every KSM knob restored"
echo 2 >"$KSM_DIR/run"
check_eq "unmerged (pages_shared)" 0 "$(real pages_shared)"
ksm_restore
check "knobs as saved" ksm_check_restored
t_end

t_summary

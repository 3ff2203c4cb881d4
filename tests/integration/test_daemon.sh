#!/bin/bash
# Runs the real ksmtuned binary against temporary sysfs and proc trees with
# real stand-in VM processes, driving cycles with signals, and checks the
# knobs after each cycle. Usage: test_daemon.sh KSMTUNED_BIN FAKE_VM_BIN
set -uo pipefail

KSMTUNED=$(realpath "${1:?ksmtuned binary}")
FAKE_VM=$(realpath "${2:?fake_vm binary}")
. "$(dirname "$0")/../lib/testlib.sh"

WORK=$(mktemp -d /tmp/ksmtuned-it.XXXXXX)
PIDS=()
cleanup() {
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ln -s "$FAKE_VM" "$WORK/qemu-system-x86_64"
ln -s "$FAKE_VM" "$WORK/qemu-kvm"
ln -s "$FAKE_VM" "$WORK/kvm"
ln -s "$FAKE_VM" "$WORK/not-a-vm"

# new_tree NAME: a fake sysfs (knobs set to a sentinel) and proc dir.
new_tree() {
        T="$WORK/$1"
        mkdir -p "$T/sys" "$T/proc"
        reset_knobs
        : > "$T/log"
        cat > "$T/conf" <<CONF
KSM_MONITOR_INTERVAL=3600
DEBUG=1
LOGFILE=$T/log
CONF
        SETTINGS="$T/none.cfg"
}

reset_knobs() {
        for f in run pages_to_scan sleep_millisecs; do [ -d "$T/sys/$f" ] || echo - > "$T/sys/$f"; done
}

knobs() {
        echo "run=$(cat "$T/sys/run") pages_to_scan=$(cat "$T/sys/pages_to_scan") sleep_millisecs=$(cat "$T/sys/sleep_millisecs")"
}

start_daemon() {
        "$KSMTUNED" --foreground --config "$T/conf" --settings "$SETTINGS" \
                --sysfs-dir "$T/sys" --proc-dir "$T/proc" "$@" 2> "$T/stderr" &
        DAEMON=$!
        PIDS+=("$DAEMON")
        # The shell knows the PID before exec; a signal sent before the
        # binary runs would hit the shell's default action, not ours.
        wait_for 10 signals_blocked "$DAEMON"
}

# start_daemon_ready: start_daemon, then wait until it has read its inputs
# and runs its event loop.
start_daemon_ready() {
        start_daemon "$@"
        wait_for 10 grep -q "running: policy" "$T/stderr"
}

# True once PID has SIGUSR1 blocked (bit 10 of SigBlk), i.e. our code runs.
signals_blocked() {
        local mask
        mask=$(awk '/^SigBlk:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
        [ -n "$mask" ] && (( (16#$mask & 0x200) != 0 ))
}

decisions() { count_lines "$T/log" "decision: "; }
has_decisions() { [ "$(decisions)" -ge "$1" ]; }

# cycle: one SIGUSR1, wait until its decision is logged.
cycle() {
        local before
        before=$(decisions)
        reset_knobs
        kill -USR1 "$DAEMON"
        wait_for 10 has_decisions $((before + 1)) || echo "  (no decision logged)" >&2
}

stop_daemon() {
        kill -TERM "$DAEMON" 2>/dev/null
        wait "$DAEMON"
}

# start_vm NAME MIB ARGV0 [extra args...]: a stand-in VM; waits until its
# memory is touched. NAME is the symlink it is exec'd through (sets comm).
start_vm() {
        local link=$1 mib=$2 argv0=$3 ready
        shift 3
        ready="$WORK/ready.$RANDOM$RANDOM"
        FAKE_VM_READY=$ready bash -c 'exec -a "$0" "$@"' "$argv0" "$WORK/$link" -m "$mib" "$@" &
        VM=$!
        PIDS+=("$VM")
        wait_for 10 test -s "$ready"
}

if [ ! -x "$KSMTUNED" ] || [ ! -x "$FAKE_VM" ]; then
        echo "SKIP: binaries not built"
        exit 77
fi

# ---------------------------------------------------------------------------
t_begin "missing sysfs is a start-up error, exit 1"
new_tree nosysfs
"$KSMTUNED" --foreground --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/absent" \
        --proc-dir "$T/proc" 2> "$T/stderr"
check_eq "exit status" 1 $?
check "message names the directory" grep -q "KSM is not available: $T/absent" "$T/stderr"
"$KSMTUNED" --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/absent" 2> "$T/stderr"
check_eq "exit status when forking" 1 $?
t_end

t_begin "bad arguments: one line, exit 2"
"$KSMTUNED" --bogus 2> "$WORK/err"; rc=$?
check_eq "exit status" 2 $rc
check_eq "lines on stderr" 1 "$(wc -l < "$WORK/err")"
check "names the option" grep -q -- "--bogus" "$WORK/err"
"$KSMTUNED" --config 2> "$WORK/err"; rc=$?
check_eq "missing option argument" 2 $rc
"$KSMTUNED" extra 2> "$WORK/err"; rc=$?
check_eq "stray argument" 2 $rc
t_end

t_begin "bad config: file, line and key, exit 1"
new_tree badconf
printf 'KSM_MONITOR_INTERVAL=60\n# comment\nKSM_SLEEP_MSEC=10ms\n' > "$T/conf"
"$KSMTUNED" --foreground --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" \
        --proc-dir "$T/proc" 2> "$T/stderr"
check_eq "exit status" 1 $?
check "names file:line: key" grep -q "$T/conf:3: KSM_SLEEP_MSEC" "$T/stderr"
t_end

t_begin "nothing written at start-up; first adjustment one interval later"
new_tree firstcycle
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
sed -i 's/^KSM_MONITOR_INTERVAL=.*/KSM_MONITOR_INTERVAL=2/' "$T/conf"
start_daemon
sleep 0.5
check_eq "knobs untouched at start" "run=- pages_to_scan=- sleep_millisecs=-" "$(knobs)"
check "first adjustment after the interval" wait_for 10 has_decisions 1
check_eq "boost written" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
check "second adjustment one interval later" wait_for 10 has_decisions 2
check_eq "boost again" "run=1 pages_to_scan=600 sleep_millisecs=20" "$(knobs)"
stop_daemon
t_end

t_begin "SIGUSR1 sent during start-up does not kill the daemon"
new_tree earlyusr1
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
# Signals land while the daemon is still reading its config and scanning
# /proc, before its event loop exists.
start_daemon
for _ in 1 2 3 4 5; do kill -USR1 "$DAEMON" 2>/dev/null; done
check "the signals caused an adjustment" wait_for 10 has_decisions 1
check "still running" kill -0 "$DAEMON"
stop_daemon
# Forking mode: the parent returns only once the child handles signals.
echo "PIDFILE=$T/pid" >> "$T/conf"
"$KSMTUNED" --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" 2>/dev/null
pid=$(cat "$T/pid")
PIDS+=("$pid")
kill -USR1 "$pid"
check "forked daemon survives an immediate SIGUSR1" wait_for 10 has_decisions 2
check "forked daemon still running" kill -0 "$pid"
kill -TERM "$pid"
t_end

t_begin "SIGUSR1 cycles: boost ramp, stop keeps npages, decay"
new_tree ramp
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
start_daemon
for want in 300 600 900 1200 1250 1250; do
        cycle
        check_eq "boost to $want" "run=1 pages_to_scan=$want sleep_millisecs=20" "$(knobs)"
done
write_meminfo "$T/proc/meminfo" 8388608 4000000 100000 100000
cycle
check_eq "stop writes run only" "run=0 pages_to_scan=- sleep_millisecs=-" "$(knobs)"
write_meminfo "$T/proc/meminfo" 8388608 1600000 0 77721   # free == thres: start, decay
cycle
check_eq "npages survived the stop; equality decays" "run=1 pages_to_scan=1200 sleep_millisecs=20" "$(knobs)"
stop_daemon
check_eq "SIGTERM exits 0" 0 $?
check_eq "knobs left as they were on exit" "run=1 pages_to_scan=1200 sleep_millisecs=20" "$(knobs)"
t_end

t_begin "VM arrival and exit move committed memory across the threshold"
new_tree vms
# Only this run's VMs count, whatever else runs on the host.
TAG="ksmtuned-it-$$"
printf 'vm_match = { comm = []; cmdline = ["^qemu-system.*-enable-kvm.* -name %s"]; };\n' "$TAG" > "$T/match.cfg"
SETTINGS="$T/match.cfg"
# total 200000 kB: thres 40000; free 150000 > thres. A 192 MiB VM commits
# more than total - thres, so KSM must run; without it, stop.
write_meminfo "$T/proc/meminfo" 200000 150000 0 0
start_daemon
cycle
check_eq "no VMs: stop" "run=0 pages_to_scan=- sleep_millisecs=-" "$(knobs)"
start_vm qemu-system-x86_64 192 qemu-system-x86_64 -enable-kvm -name "$TAG"
vm1=$VM
cycle
check_eq "VM arrived: run, decay to min" "run=1 pages_to_scan=64 sleep_millisecs=838" "$(knobs)"
check "log counts one VM" grep -q "in 1 VMs" "$T/log"
kill -TERM "$vm1"; wait "$vm1" 2>/dev/null
cycle
check_eq "VM exited: stop" "run=0 pages_to_scan=- sleep_millisecs=-" "$(knobs)"
stop_daemon
t_end

# vms_counted: the VM count of the last cycle.
vms_counted() { grep -o "in [0-9]* VMs" "$T/log" | tail -1 | awk '{print $2}'; }

t_begin "every built-in VM rule is counted"
new_tree rules
write_meminfo "$T/proc/meminfo" 8388608 8000000 0 0
start_daemon
cycle
baseline=$(vms_counted)   # VM-like processes that are not ours
start_vm qemu-kvm 4 qemu-kvm                                   # upstream comm
start_vm kvm 4 kvm                                             # Proxmox comm
start_vm not-a-vm 4 not-a-vm                                   # not a VM ...
FAKE_VM_COMM=qemu:guest7 start_vm not-a-vm 4 not-a-vm          # ... libvirt's qemu:NAME is
start_vm not-a-vm 4 qemu-system-x86_64 -accel kvm              # Debian rule, -accel spelling
start_vm not-a-vm 4 qemu-system-aarch64 -machine virt,accel=kvm
start_vm not-a-vm 4 qemu-system-x86_64 -m 4                    # no KVM: not counted
cycle
check_eq "five VMs counted" $((baseline + 5)) "$(vms_counted)"
stop_daemon
t_end

t_begin "SIGHUP reloads; a bad reload keeps the running configuration"
new_tree reload
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
start_daemon
cycle
check_eq "default boost" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
echo "KSM_NPAGES_BOOST=100" >> "$T/conf"
kill -HUP "$DAEMON"
check "reload logged" wait_for 10 grep -q "Configuration reloaded" "$T/stderr"
cycle
check_eq "new boost applies, npages kept" "run=1 pages_to_scan=400 sleep_millisecs=20" "$(knobs)"
echo 'KSM_NPAGES_BOOST=$(reboot)' >> "$T/conf"
kill -HUP "$DAEMON"
check "bad reload logged with line and key" wait_for 10 grep -q "keeping the running one: $T/conf:5: KSM_NPAGES_BOOST" "$T/stderr"
cycle
check_eq "running configuration kept" "run=1 pages_to_scan=500 sleep_millisecs=20" "$(knobs)"
check "still running" kill -0 "$DAEMON"
stop_daemon
t_end

t_begin "a failed write is logged once and retried every cycle"
new_tree writefail
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
start_daemon
rm "$T/sys/pages_to_scan"; mkdir "$T/sys/pages_to_scan"   # writes now fail with EISDIR
for _ in 1 2 3; do cycle; done
check_eq "warned once" 1 "$(count_lines "$T/stderr" "Failed to write pages_to_scan")"
check_eq "other knobs still written" "1 20" "$(cat "$T/sys/run") $(cat "$T/sys/sleep_millisecs")"
rmdir "$T/sys/pages_to_scan"; echo - > "$T/sys/pages_to_scan"
kill -USR1 "$DAEMON"; wait_for 10 has_decisions 4
check_eq "retried and recovered" "1200" "$(cat "$T/sys/pages_to_scan")"
check "recovery logged" grep -q "Writing pages_to_scan works again" "$T/stderr"
stop_daemon
t_end

t_begin "garbage meminfo skips the cycle with one error, then recovers"
new_tree meminfo
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
start_daemon_ready
echo "MemTotal: lots" > "$T/proc/meminfo"
kill -USR1 "$DAEMON"; kill -USR1 "$DAEMON"; sleep 0.5
check_eq "one error for two cycles" 1 "$(count_lines "$T/stderr" "Failed to read meminfo")"
check_eq "nothing written" "run=- pages_to_scan=- sleep_millisecs=-" "$(knobs)"
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
cycle
check_eq "recovered" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
check "still running" kill -0 "$DAEMON"
stop_daemon
t_end

t_begin "an unwritable LOGFILE is one warning, never fatal"
new_tree logfile
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
printf 'KSM_MONITOR_INTERVAL=3600\nDEBUG=yes\nLOGFILE=%s/missing/dir/log\n' "$T" > "$T/conf"
start_daemon
for _ in 1 2; do kill -USR1 "$DAEMON"; wait_for 10 grep -q "pages_to_scan=600" "$T/stderr"; done
check_eq "warned once" 1 "$(count_lines "$T/stderr" "Failed to append to LOGFILE")"
check_eq "knobs written" "run=1 pages_to_scan=600 sleep_millisecs=20" "$(knobs)"
stop_daemon
t_end

t_begin "CRLF config: parsed, no busy loop"
new_tree crlf
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
printf 'KSM_MONITOR_INTERVAL=3600\r\nDEBUG=1\r\nLOGFILE=%s/log\r\nKSM_NPAGES_BOOST="250"\r\n' "$T" > "$T/conf"
start_daemon
sleep 1
check_eq "no cycle without a signal" 0 "$(decisions)"
cycle
check_eq "values from the CRLF file" "run=1 pages_to_scan=250 sleep_millisecs=20" "$(knobs)"
stop_daemon
t_end

t_begin "--once and --dry-run"
new_tree once
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
out=$("$KSMTUNED" --once --dry-run --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" 2>/dev/null)
check_eq "dry run exit status" 0 $?
check "prints the decision" grep -q "write: pages_to_scan=300 sleep_millisecs=20 run=1" <<<"$out"
check "says nothing was written" grep -q "dry run: nothing was written" <<<"$out"
check_eq "dry run wrote nothing" "run=- pages_to_scan=- sleep_millisecs=-" "$(knobs)"
"$KSMTUNED" --once --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" >/dev/null 2>&1
check_eq "--once exit status" 0 $?
check_eq "--once wrote" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
t_end

t_begin "--print-config shows each value's origin"
new_tree printconf
printf '# x\n\nKSM_SLEEP_MSEC=100\nKSM_NPAGES_MAX=999\n' > "$T/conf"
printf 'policy = "legacy";\nKSM_NPAGES_MAX = 2000;\n' > "$T/settings.cfg"
out=$("$KSMTUNED" --print-config --config "$T/conf" --settings "$T/settings.cfg")
check "legacy file origin" grep -Eq "^KSM_SLEEP_MSEC=100 +# $T/conf:3$" <<<"$out"
check ".cfg wins over the legacy file" grep -Eq "^KSM_NPAGES_MAX=2000 +# $T/settings.cfg:2$" <<<"$out"
check "defaults" grep -Eq "^KSM_MONITOR_INTERVAL=60 +# default$" <<<"$out"
t_end

t_begin "forking mode: PIDFILE written once the child runs; removed on exit"
new_tree fork
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
echo "PIDFILE=$T/ksmtune.pid" >> "$T/conf"
"$KSMTUNED" --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" 2> "$T/stderr"
check_eq "parent exit status" 0 $?
pid=$(cat "$T/ksmtune.pid" 2>/dev/null)
check "PIDFILE names a running process" kill -0 "${pid:-0}"
check_eq "PIDFILE format" "$pid" "$(head -c 32 "$T/ksmtune.pid" | tr -d '\n')"
if [ -n "$pid" ]; then
        PIDS+=("$pid")
        kill -USR1 "$pid"
        check "retunes on SIGUSR1" wait_for 10 has_decisions 1
        kill -TERM "$pid"
        check "exits on SIGTERM" wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
        check "PIDFILE removed" wait_for 10 test ! -e "$T/ksmtune.pid"
fi
t_end

t_begin "forking mode: an unusable PIDFILE is an error, not a silent exit 0"
new_tree badpid
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
echo "PIDFILE=$T/no/such/dir/ksmtune.pid" >> "$T/conf"
"$KSMTUNED" --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" 2> "$T/stderr"
check_eq "exit status" 1 $?
check "names the PIDFILE" grep -q "Failed to open PIDFILE $T/no/such/dir/ksmtune.pid" "$T/stderr"
t_end

t_begin "journal priority prefixes only when stderr is the journal stream"
new_tree journal
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
: > "$T/stderr"
ino=$(stat -c '%d:%i' "$T/stderr")
JOURNAL_STREAM=$ino "$KSMTUNED" --once -d --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" >/dev/null 2> "$T/stderr"
check "debug lines carry <7>" grep -q '^<7>decision: start' "$T/stderr"
"$KSMTUNED" --once -d --config "$T/conf" --settings "$SETTINGS" --sysfs-dir "$T/sys" --proc-dir "$T/proc" >/dev/null 2> "$T/stderr"
check "plain otherwise" grep -q '^decision: start' "$T/stderr"
t_end

t_begin "sd_notify: READY, STATUS, RELOADING, STOPPING and the watchdog"
new_tree notify
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0
python3 "$(dirname "$0")/../helpers/notify_listen.py" "$T/notify.sock" "$T/notify" &
PIDS+=($!)
wait_for 10 grep -qs LISTENING "$T/notify"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 start_daemon
check "READY=1 once started" wait_for 10 grep -q "^READY=1" "$T/notify"
cycle
check "STATUS= tells the last decision" wait_for 10 grep -q "^STATUS=KSM running: pages_to_scan=300 sleep_millisecs=20" "$T/notify"
kill -HUP "$DAEMON"
check "RELOADING=1 around a reload" wait_for 10 grep -q "^RELOADING=1|MONOTONIC_USEC=" "$T/notify"
check "READY=1 after the reload" wait_for 10 bash -c "[ \$(grep -c '^READY=1' '$T/notify') -ge 2 ]"
check "WATCHDOG=1 pings" wait_for 10 grep -q "^WATCHDOG=1" "$T/notify"
stop_daemon
check "STOPPING=1 on exit" wait_for 10 grep -q "^STOPPING=1" "$T/notify"
t_end

t_summary

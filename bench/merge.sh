#!/bin/bash
# Benchmark (not a test): how fast, and at what ksmd CPU cost, the real kernel
# merges a fixed VM workload under each KSM tuning policy, side by side.
#
# usage: bench/merge.sh [KSMTUNED_BIN]
#   KSMTUNED_BIN  our daemon (else env KSMTUNED_BIN, else build-bench/ksmtuned,
#                 configured and built with CMake in Release mode if missing)
# env:
#   VMS=4              stand-in VMs (bench/workload_vm.c)
#   VM_MB=256          guest RAM of each, MiB
#   SPEC=seed=42,identical=60,zero=5,volatile=5,rate=1000
#                      their page mix (WORKLOAD_SPEC, see bench/workload_vm.c)
#   DURATION=150       seconds each policy is recorded for
#   SAMPLE_MS=1000     sampling period, ms
#   INTERVAL=5         KSM_MONITOR_INTERVAL of the stock script and of ours
#   POLICIES="stock ours advisor default"   which, in this order
#   RESULTS_DIR=bench/results/merge   (its *.csv, *.log and *.png are replaced)
#   STOCK_SCRIPT=PATH  Debian's script; else `apt-get download ksmtuned` into
#                      KSMTUNED_STOCK_CACHE (/tmp/ksmtuned-stock-cache)
# Exit: 0 done, 1 failure, 2 usage, 77 skipped (not root, no writable
# /sys/kernel/mm/ksm, no mount namespace, no stock script).
# With the defaults it takes about 10 minutes. It needs the machine's KSM to
# itself: run nothing else that uses the real /sys/kernel/mm/ksm meanwhile
# (run=2 also unmerges the pages of every other process).
#
# The policies, one after the other on the same workload:
#   stock    Debian's ksmtuned script as packaged, unmodified, in a private
#            mount namespace where /proc/meminfo is this benchmark's file and
#            /etc/ksmtuned.conf sets only KSM_MONITOR_INTERVAL, DEBUG, LOGFILE
#            and PIDFILE; it writes the real /sys/kernel/mm/ksm.
#   ours     our daemon, legacy policy, same settings (D-Bus off), with
#            --proc-dir for the same meminfo, on the real sysfs.
#   advisor  the kernel's advisor: advisor_mode=scan-time, run=1, no daemon.
#   default  the kernel's defaults: pages_to_scan=100, sleep_millisecs=20,
#            run=1, no daemon.
# The fake meminfo (16 GiB total, 1 GB free) is below the stock threshold, so
# the two legacy engines start KSM and boost at every cycle.
#
# Before each policy: the VMs of the previous one are stopped, run=2 unmerges
# everything (and drops the rmap items), pages_shared must reach 0, the knobs
# are set to the kernel defaults (BASE_KNOBS), and VMS fresh VMs
# are started with the same seed. Then t=0: the policy starts, and every
# SAMPLE_MS the counters, the knobs and ksmd's CPU time are appended to
# RESULTS_DIR/POLICY.csv for DURATION seconds.
#
# Every knob of /sys/kernel/mm/ksm is saved first and restored at the end,
# also on failure or interrupt (EXIT trap), after a last run=2.
set -euo pipefail

readonly SKIP=77
readonly SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

skip() {
        echo "SKIP: $*"
        exit "$SKIP"
}
die() {
        echo "error: $*" >&2
        exit 1
}
usage_error() {
        echo "error: $*" >&2
        exit 2
}

VMS=${VMS:-4}
VM_MB=${VM_MB:-256}
SPEC=${SPEC:-seed=42,identical=60,zero=5,volatile=5,rate=1000}
DURATION=${DURATION:-150}
SAMPLE_MS=${SAMPLE_MS:-1000}
INTERVAL=${INTERVAL:-5}
POLICIES=${POLICIES:-stock ours advisor default}
RESULTS_DIR=${RESULTS_DIR:-$here/results/merge}
OURS_BIN=${1:-${KSMTUNED_BIN:-}}
for v in VMS VM_MB DURATION SAMPLE_MS INTERVAL; do
        [[ ${!v} =~ ^[1-9][0-9]*$ ]] || usage_error "$v must be a positive integer, not '${!v}'"
done
((VMS >= 2)) || usage_error "VMS: need at least 2 VMs to share anything"
for p in $POLICIES; do
        case $p in stock | ours | advisor | default) ;; *) usage_error "unknown policy '$p'" ;; esac
done

# The real-KSM helpers of the test suite: KSM_DIR, ksm_usable, ksm_save,
# ksm_restore, ksm_check_restored.
. "$repo/tests/lib/ksm_knobs.sh"
[[ $(id -u) == 0 ]] || skip "needs root (real KSM knobs, mount namespace)"
ksm_usable || skip "real KSM not usable: $KSM_WHY"
for f in full_scans pages_sharing pages_shared general_profit ksm_zero_pages; do
        [[ -r $KSM_DIR/$f ]] || skip "$KSM_DIR/$f is missing (kernel too old)"
done
HAVE_ADVISOR=0
[[ -f $KSM_DIR/advisor_mode ]] && HAVE_ADVISOR=1
if [[ " $POLICIES " == *" advisor "* ]] && ((!HAVE_ADVISOR)); then
        echo "# no advisor_mode in this kernel (before 6.8): policy 'advisor' left out"
        POLICIES=${POLICIES//advisor/}
fi
if [[ " $POLICIES " == *" stock "* ]]; then
        unshare -m --propagation private true 2>/dev/null || skip "unshare -m does not work here"
fi
for tool in pgrep awk dpkg mount cc; do
        command -v "$tool" >/dev/null || skip "$tool is missing"
done
KSMD=$(pgrep -x ksmd | head -n 1) || true
[[ -n $KSMD ]] || skip "no ksmd kernel thread"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ksmtuned-merge.XXXXXX")
[[ $WORK != *[[:space:]]* ]] || { rm -rf "$WORK"; skip "TMPDIR contains whitespace"; }
BIN=$WORK/bin
mkdir -p "$BIN" "$WORK/proc"
T_START=$SECONDS

# ------------------------------------------------------------------ cleanup
vm_pids=() stock_pid='' ours_pid=''
end_stock() { # the stock loop and its `sleep` child
        local -a kids=()
        if [[ -n $stock_pid ]] && [[ -d /proc/$stock_pid ]]; then
                kill -STOP "$stock_pid" 2>/dev/null || true
                mapfile -t kids < <(pgrep -P "$stock_pid" || true)
                kill -KILL "$stock_pid" 2>/dev/null || true
                ((${#kids[@]} == 0)) || kill -KILL "${kids[@]}" 2>/dev/null || true
        fi
        stock_pid=
}
end_ours() {
        local rc=0
        [[ -n $ours_pid ]] || return 0
        kill -TERM "$ours_pid" 2>/dev/null || true
        wait "$ours_pid" || rc=$?
        ours_pid=
        return $rc
}
end_vms() {
        local p
        for p in "${vm_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        for p in "${vm_pids[@]}"; do wait "$p" 2>/dev/null || true; done
        vm_pids=()
}
unmerge_all() { # run=2 is synchronous; wait for the counters anyway
        local i
        echo 2 >"$KSM_DIR/run"
        for ((i = 0; i < 300; i++)); do
                [[ $(<"$KSM_DIR/pages_shared") == 0 && $(<"$KSM_DIR/pages_sharing") == 0 ]] && return 0
                sleep 0.1
        done
        return 1
}
cleanup() {
        trap '' INT TERM
        end_stock
        [[ -z $ours_pid ]] || kill -KILL "$ours_pid" 2>/dev/null || true
        end_vms
        wait 2>/dev/null || true
        if ((${#KSM_SAVED[@]} > 0)); then
                unmerge_all || echo "warning: pages_shared did not reach 0 after run=2" >&2
                ksm_restore
                ksm_check_restored || echo "warning: some KSM knobs were not restored" >&2
        fi
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------- ingredients
if [[ -z $OURS_BIN ]]; then
        OURS_BIN=$repo/build-bench/ksmtuned
        if [[ ! -x $OURS_BIN ]]; then
                echo "# building $OURS_BIN (Release)"
                cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
                cmake --build "$repo/build-bench" -j"$(nproc)" --target ksmtuned >/dev/null
        fi
fi
[[ -f $OURS_BIN && -x $OURS_BIN ]] || usage_error "$OURS_BIN is not an executable"
OURS_BIN=$(realpath "$OURS_BIN")

# shellcheck source=common.sh
. "$here/common.sh"
STOCK_NAME=-
if [[ " $POLICIES " == *" stock "* ]]; then
        stock_fetch "$WORK"
fi

CC=${CC:-cc}
"$CC" -std=gnu11 -O2 -o "$BIN/workload_vm" "$here/workload_vm.c"
# Through this name comm is "qemu-system-x86"; with exec -a, argv[0] is
# "qemu-system-x86_64": both the stock rule and ours match.
ln -s workload_vm "$BIN/qemu-system-x86_64"

# 16 GiB total, 1 GB free: below the threshold (20 % = 3.2 GiB) => start, boost.
write_pressure_meminfo "$WORK/proc/meminfo"

# Fork-free sleeping (read with a timeout on a FIFO nobody writes).
tick_open "$WORK"
nap_us() { (($1 <= 0)) || read -r -t "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))" -u "$TICK" _ || true; }
now_us() { echo "${EPOCHREALTIME/./}"; }
wait_until() { # SECONDS DESCRIPTION COMMAND...
        local limit=$1 what=$2 t0=$SECONDS
        shift 2
        until "$@"; do
                ((SECONDS - t0 < limit)) || die "timed out after ${limit}s waiting for $what"
                sleep 0.05
        done
}

# ------------------------------------------------------------------ knobs
# The baseline before every policy: the kernel's defaults. advisor_mode goes
# first (switching it resets pages_to_scan); run stays as it is.
BASE_KNOBS=(smart_scan=1 use_zero_pages=0 max_page_sharing=256 stable_node_chains_prune_millisecs=2000
        advisor_max_cpu=70 advisor_min_pages_to_scan=500 advisor_max_pages_to_scan=30000
        advisor_target_scan_time=200 pages_to_scan=100 sleep_millisecs=20)
knob() { local v; read -r v <"$KSM_DIR/$1"; echo "$v"; }
reset_knobs() {
        local kv k v now
        ((!HAVE_ADVISOR)) || echo none >"$KSM_DIR/advisor_mode"
        for kv in "${BASE_KNOBS[@]}"; do
                k=${kv%%=*} v=${kv#*=}
                [[ -f $KSM_DIR/$k ]] || continue
                now=$(knob "$k")
                [[ $now == "$v" ]] || echo "$v" >"$KSM_DIR/$k" || die "cannot set $k=$v"
        done
}
knob_summary() {
        local k out=
        for k in run pages_to_scan sleep_millisecs smart_scan use_zero_pages max_page_sharing merge_across_nodes; do
                [[ -f $KSM_DIR/$k ]] && out+="$k=$(knob "$k") "
        done
        ((!HAVE_ADVISOR)) || out+="advisor_mode=$(sed -E 's/.*\[([^]]+)\].*/\1/' "$KSM_DIR/advisor_mode")"
        echo "$out"
}

# -------------------------------------------------------------------- VMs
VM_COUNTS=
start_vms() {
        local i
        for ((i = 1; i <= VMS; i++)); do
                rm -f "$WORK/vm$i.ready"
                (
                        export WORKLOAD_SPEC=$SPEC WORKLOAD_READY=$WORK/vm$i.ready
                        exec -a qemu-system-x86_64 "$BIN/qemu-system-x86_64" -enable-kvm -m "$VM_MB" -name "bench-vm$i"
                ) </dev/null >"$WORK/vm$i.out" 2>&1 &
                vm_pids+=($!)
        done
        for ((i = 1; i <= VMS; i++)); do
                wait_until 120 "VM $i to write its memory" test -s "$WORK/vm$i.ready"
        done
        VM_COUNTS=$(sed -n 2p "$WORK/vm1.ready")
}
count_of() { sed -E "s/.*(^| )$1=([0-9]+).*/\2/" <<<"$VM_COUNTS"; }

# ---------------------------------------------------------------- policies
# $1 meminfo, $2 config, $3 scratch dir, $4 the script. /sys/kernel/mm/ksm
# is the real one.
# shellcheck disable=SC2016
readonly NS_SETUP='
set -e
mount --bind "$1" /proc/meminfo
if [ -e /etc/ksmtuned.conf ]; then
        mount --bind "$2" /etc/ksmtuned.conf
else
        mount -t tmpfs scratch "$3"
        mkdir "$3/upper" "$3/work"
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$3/upper,workdir=$3/work" /etc
        cp "$2" /etc/ksmtuned.conf
fi
exec bash "$4"
'
start_policy() { # POLICY DIR
        local d=$2
        case $1 in
        stock)
                mkdir -p "$d/ns"
                printf 'KSM_MONITOR_INTERVAL=%s\nDEBUG=1\nLOGFILE=%s\nPIDFILE=%s\n' \
                        "$INTERVAL" "$d/log" "$d/pid" >"$d/conf"
                env -i PATH="$SAFE_PATH" LC_ALL=C HOME=/ \
                        unshare -m --propagation private -- bash -c "$NS_SETUP" ns-setup \
                        "$WORK/proc/meminfo" "$d/conf" "$d/ns" "$STOCK_SCRIPT" </dev/null >"$d/out" 2>&1 &
                wait_until 20 "the stock pidfile" test -s "$d/pid"
                read -r stock_pid <"$d/pid"
                ;;
        ours)
                printf 'KSM_MONITOR_INTERVAL=%s\nDEBUG=1\nLOGFILE=%s\n' "$INTERVAL" "$d/log" >"$d/conf"
                echo 'dbus = { enabled = false; };' >"$d/settings.cfg"
                env -i PATH="$SAFE_PATH" LC_ALL=C HOME=/ \
                        "$OURS_BIN" --foreground --config "$d/conf" --settings "$d/settings.cfg" \
                        --proc-dir "$WORK/proc" </dev/null >"$d/out" 2>&1 &
                ours_pid=$!
                ;;
        advisor)
                echo scan-time >"$KSM_DIR/advisor_mode"
                echo 1 >"$KSM_DIR/run"
                ;;
        default)
                echo 100 >"$KSM_DIR/pages_to_scan"
                echo 20 >"$KSM_DIR/sleep_millisecs"
                echo 1 >"$KSM_DIR/run"
                ;;
        esac
}
stop_policy() { # POLICY DIR
        case $1 in
        stock) end_stock ;;
        ours) end_ours || die "our daemon exited $? on SIGTERM: $(tail -n 5 "$2/out")" ;;
        *) ;;
        esac
}
policy_alive() { # POLICY
        case $1 in
        stock) [[ -d /proc/$stock_pid ]] ;;
        ours) [[ -d /proc/$ours_pid ]] ;;
        *) true ;;
        esac
}

# ---------------------------------------------------------------- sampling
CLK_TCK=$(getconf CLK_TCK)
PAGE_SIZE=$(getconf PAGESIZE)
CSV_HEADER=t_s,pages_sharing,pages_shared,ksm_zero_pages,saved_bytes,general_profit,ksmd_cpu_s,ksmd_cpu_ticks_s,full_scans,pages_volatile,pages_to_scan,sleep_millisecs,run,vm_merging_pages,vm_rss_kb,ksmd_cpu_pct
declare -A K
SCHED0=0 TICKS0=0 PREV_NS=0 PREV_US=0
ksmd_cpu() { # sets KSMD_NS (schedstat) and KSMD_TICKS (utime+stime)
        local line a
        read -r a _ <"/proc/$KSMD/schedstat"
        KSMD_NS=$a
        read -r line <"/proc/$KSMD/stat"
        line=${line##*) }
        read -r -a a <<<"$line"
        KSMD_TICKS=$((a[11] + a[12]))
}
sample() { # T_US CSV: one row, builtins only
        local k p key val vm=0 rss=0 pct=0
        for k in pages_sharing pages_shared ksm_zero_pages general_profit full_scans pages_volatile \
                pages_to_scan sleep_millisecs run; do
                read -r "K[$k]" <"$KSM_DIR/$k"
        done
        ksmd_cpu
        # ksmd's CPU use since the previous row, in percent of one CPU
        (($1 <= PREV_US)) || pct=$(((KSMD_NS - PREV_NS) / ($1 - PREV_US))) # tenths of a percent
        PREV_NS=$KSMD_NS PREV_US=$1
        for p in "${vm_pids[@]}"; do
                while read -r key val; do
                        [[ $key == ksm_merging_pages ]] && vm=$((vm + val))
                done <"/proc/$p/ksm_stat" 2>/dev/null || true
                while read -r key val _; do
                        [[ $key == VmRSS: ]] && rss=$((rss + val))
                done <"/proc/$p/status" 2>/dev/null || true
        done
        printf '%d.%03d,%s,%s,%s,%s,%s,%d.%09d,%d.%02d,%s,%s,%s,%s,%s,%s,%s,%d.%d\n' \
                $(($1 / 1000000)) $(($1 % 1000000 / 1000)) \
                "${K[pages_sharing]}" "${K[pages_shared]}" "${K[ksm_zero_pages]}" \
                $(((K[pages_sharing] + K[ksm_zero_pages]) * PAGE_SIZE)) "${K[general_profit]}" \
                $(((KSMD_NS - SCHED0) / 1000000000)) $(((KSMD_NS - SCHED0) % 1000000000)) \
                $(((KSMD_TICKS - TICKS0) / CLK_TCK)) $(((KSMD_TICKS - TICKS0) % CLK_TCK * 100 / CLK_TCK)) \
                "${K[full_scans]}" "${K[pages_volatile]}" "${K[pages_to_scan]}" "${K[sleep_millisecs]}" \
                "${K[run]}" "$vm" "$rss" $((pct / 10)) $((pct % 10)) >>"$2"
}

run_policy() { # POLICY
        local pol=$1 d=$WORK/$1 csv=$RESULTS_DIR/$1.csv t0 next now n=0 samples
        mkdir -p "$d"
        end_vms
        unmerge_all || die "pages_shared did not reach 0 after run=2"
        reset_knobs
        echo 0 >"$KSM_DIR/run"
        start_vms
        echo "# $pol: $VMS VMs ready ($VM_COUNTS), knobs: $(knob_summary)"
        echo "$CSV_HEADER" >"$csv"
        samples=$((DURATION * 1000 / SAMPLE_MS))
        ksmd_cpu
        SCHED0=$KSMD_NS TICKS0=$KSMD_TICKS PREV_NS=$KSMD_NS PREV_US=0
        t0=$(now_us)
        start_policy "$pol" "$d"
        sample 0 "$csv"
        for ((n = 1; n <= samples; n++)); do
                next=$((t0 + n * SAMPLE_MS * 1000))
                now=$(now_us)
                nap_us $((next - now))
                now=$(now_us)
                sample $((now - t0)) "$csv"
                policy_alive "$pol" || die "$pol died: $(tail -n 5 "$d/out" 2>/dev/null)"
        done
        [[ $pol != stock && $pol != ours ]] || cp "$d/log" "$RESULTS_DIR/$pol.log"
        stop_policy "$pol" "$d"
        echo "# $pol: done, knobs at the end: $(knob_summary)"
}

# -------------------------------------------------------------------- main
ksm_save
mkdir -p "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/*.csv "$RESULTS_DIR"/*.log "$RESULTS_DIR"/*.png
echo "# stock: $STOCK_NAME; ours: $OURS_BIN"
echo "# $(nproc) CPUs, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "# THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo -)"
echo "# workload: $VMS VMs x $VM_MB MiB, WORKLOAD_SPEC=$SPEC"
echo "# policies: $POLICIES; ${DURATION}s each, sampled every ${SAMPLE_MS} ms; KSM_MONITOR_INTERVAL=$INTERVAL"
echo "# knobs found: $(knob_summary)"

for pol in $POLICIES; do
        run_policy "$pol"
done
end_vms
unmerge_all || die "pages_shared did not reach 0 after run=2"
ksm_restore
ksm_check_restored || die "the KSM knobs were not restored"
KSM_SAVED=() # restored; the EXIT trap has nothing more to do
echo "# knobs restored: $(knob_summary)"

# ---------------------------------------------------------------- summary
identical=$(count_of identical) zero=$(count_of zero) pages=$(count_of pages)
# Achievable pages_sharing, in theory: every identical page merged into one
# KSM page per image page (VMS-1 sharers each). Zero pages count too, merged
# into chains of KSM pages of at most max_page_sharing (256) sharers, but only
# without THP: when KSM splits a huge page to merge part of it, the kernel
# (6.12+) maps the all-zero subpages to the shared zero page at once, so KSM
# never sees them (they show as a drop of the VMs' RSS, vm_rss_kb).
zero_all=$((zero * VMS))
achievable=$((identical * (VMS - 1)))
achievable_why="$identical identical pages x $((VMS - 1))"
if [[ ,$SPEC, == *,thp=off,* ]]; then
        achievable=$((achievable + zero_all - (zero_all + 255) / 256))
        achievable_why+=" + $zero_all zero pages - $(((zero_all + 255) / 256)) KSM pages"
else
        achievable_why+=" (THP on: the $zero_all zero pages go to the shared zero page when KSM splits their huge page)"
fi
{
        echo "policy,achievable,pages_per_vm,identical_per_vm,zero_per_vm,vms,vm_mb,spec,duration_s,interval_s"
        for pol in $POLICIES; do
                echo "$pol,$achievable,$pages,$identical,$zero,$VMS,$VM_MB,\"$SPEC\",$DURATION,$INTERVAL"
        done
} >"$RESULTS_DIR/runs.csv"
echo "# raw results: ${RESULTS_DIR#"$repo"/}/{$(tr ' ' ',' <<<"$POLICIES" | sed 's/^,*//; s/,*$//; s/,,*/,/g')}.csv, runs.csv"
echo "# achievable pages_sharing (theoretical): $achievable = $achievable_why"
echo

awk -F, -v A="$achievable" -v dir="$RESULTS_DIR" -v policies="$POLICIES" '
function name(p) {
        return p == "stock" ? "stock script (Debian)" : p == "ours" ? "ksmtuned, legacy" :
               p == "advisor" ? "kernel advisor (scan-time)" : "kernel default (100 / 20 ms)"
}
function fmt_t(t) { return t < 0 ? "not reached" : sprintf("%.0f", t) }
BEGIN {
        np = split(policies, P, " ")
        print "| policy | KSM on at (s) | time to 50 % (s) | time to 90 % (s) | max pages_sharing (% of achievable) | full scans | saved at end (MiB) | general_profit at end (MiB) | ksmd CPU s to 90 % | ksmd CPU s, whole run | ksmd CPU s per GiB saved: to 90 % / whole run | pages_to_scan / sleep ms at end |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
        for (i = 1; i <= np; i++) {
                p = P[i]; f = dir "/" p ".csv"
                on = t50 = t90 = -1; max = 0; cpu90 = 0; saved90 = 0
                while ((getline line < f) > 0) {
                        if (line ~ /^t_s/) continue
                        split(line, c, ",")
                        t = c[1]; sh = c[2]; saved = c[5]; prof = c[6]; cpu = c[7]
                        scans = c[9]; pts = c[11]; slp = c[12]; run = c[13]
                        if (first == "") first = scans
                        if (on < 0 && run == 1) on = t
                        if (sh > max) max = sh
                        if (t50 < 0 && sh >= 0.5 * A) t50 = t
                        if (t90 < 0 && sh >= 0.9 * A) { t90 = t; cpu90 = cpu; saved90 = saved }
                }
                close(f)
                g90 = saved90 / 1073741824; gend = saved / 1073741824
                printf "| %s | %s | %s | %s | %d (%.1f %%) | %d | %.1f | %.1f | %s | %.2f | %s / %s | %s / %s |\n",
                        name(p), fmt_t(on), fmt_t(t50), fmt_t(t90), max, 100 * max / A, scans - first,
                        saved / 1048576, prof / 1048576,
                        t90 < 0 ? "–" : sprintf("%.2f", cpu90), cpu,
                        t90 < 0 || g90 == 0 ? "–" : sprintf("%.2f", cpu90 / g90),
                        gend == 0 ? "–" : sprintf("%.2f", cpu / gend), pts, slp
                first = ""
        }
}' </dev/null

# ------------------------------------------------------------------- plots
if ! command -v gnuplot >/dev/null; then
        echo
        echo "# gnuplot is not installed (apt-get install gnuplot-nox): no plots"
        echo "# took $((SECONDS - T_START)) s"
        exit 0
fi
plot_lines() { # COLUMN: one "plot" clause per policy
        local pol sep='' out='' style
        for pol in $POLICIES; do
                case $pol in # stock and ours may coincide: stock wide and pale, ours on top
                stock) style="lw 6 lc rgb '#c9a0dc'" ;;
                ours) style="lw 2 lc rgb '#1b7837'" ;;
                advisor) style="lw 2 lc rgb '#2166ac'" ;;
                default) style="lw 2 lc rgb '#e08214'" ;;
                esac
                out+="$sep'$RESULTS_DIR/$pol.csv' using 1:$1 with lines $style title '$(title_of "$pol")'"
                sep=", "
        done
        echo "$out"
}
title_of() {
        case $1 in
        stock) echo "stock script (Debian), interval ${INTERVAL} s" ;;
        ours) echo "ksmtuned legacy, interval ${INTERVAL} s" ;;
        advisor) echo "kernel advisor (scan-time)" ;;
        default) echo "kernel default (100 pages / 20 ms)" ;;
        esac
}
gnuplot <<EOF
set terminal pngcairo size 1100,650 font "sans,11" noenhanced
set datafile separator ","
set key bottom right box opaque
set grid
set xlabel "seconds since the policy started (VMs ready)"
set xrange [0:$DURATION]

set output "$RESULTS_DIR/pages_sharing.png"
set title "pages_sharing: $VMS VMs x $VM_MB MiB ($SPEC)"
set ylabel "pages_sharing (thousands)"
set yrange [0:*]
set arrow from 0,$achievable/1000.0 to $DURATION,$achievable/1000.0 nohead dt 2 lc rgb "gray40"
set label "achievable: $achievable" at $DURATION*0.02,$achievable/1000.0*1.03 textcolor rgb "gray30"
plot $(plot_lines '($2/1000)')

unset arrow
unset label
set output "$RESULTS_DIR/ksmd_cpu.png"
set terminal pngcairo size 1100,900 font "sans,11" noenhanced
set multiplot layout 2,1
set title "ksmd CPU time, cumulative (/proc/PID/schedstat of the ksmd kthread)"
set ylabel "ksmd CPU seconds"
set key top left box opaque
plot $(plot_lines 7)
set title "ksmd CPU use over each ${SAMPLE_MS} ms sample"
set ylabel "% of one CPU"
set yrange [0:105]
set key top right box opaque
plot $(plot_lines 16)
unset multiplot
EOF
echo
echo "# plots: ${RESULTS_DIR#"$repo"/}/pages_sharing.png, ${RESULTS_DIR#"$repo"/}/ksmd_cpu.png"
echo "# took $((SECONDS - T_START)) s"

#!/bin/bash
# Benchmark (not a test): CPU time and peak RSS of one adjustment cycle of our
# daemon and of Debian's stock ksmtuned script, side by side, with 100, 1 000
# and 10 000 extra idle processes on the host.
#
# usage: bench/cycle_cost.sh [KSMTUNED_BIN]
#   KSMTUNED_BIN  our daemon (else env KSMTUNED_BIN, else build-bench/ksmtuned,
#                 configured and built with CMake in Release mode if missing)
# env:
#   SIZES="100 1000 10000"   extra processes to spawn, one run per size
#   CYCLES=20                cycles measured per engine and size (at least 5)
#   CYCLES_<N>=K             override for one size, e.g. CYCLES_10000=10
#   IDLE_SECONDS=2           ours: CPU also measured over this long without cycles
#   CHURN=500                ours: CPU also measured while the driver starts this
#                            many short-lived processes (/bin/true), between cycles
#   RESULTS=bench/results/cycle_cost.csv
#   BENCH_TMPDIR=DIR         scratch files (default /dev/shm, a tmpfs)
#   STOCK_SCRIPT=PATH        Debian's script; else `apt-get download ksmtuned`
#                            into KSMTUNED_STOCK_CACHE (/tmp/ksmtuned-stock-cache)
# Exit: 0 done, 1 failure, 2 usage, 77 skipped (not root, no mount namespace,
# no proc connector, no stock script).
#
# Per size N: spawn N idle processes (bench/spawn_procs.c), then, one after
# the other (never concurrently, so neither sees the other's forks):
#   stock        Debian's script, unmodified, in a private mount namespace
#                where /proc/meminfo, /sys/kernel/mm/ksm and /etc/ksmtuned.conf
#                are this benchmark's files;
#   ours-events  our daemon, VM processes tracked with the proc connector;
#   ours-scan    our daemon with vm_tracking = "scan" (full /proc walk per cycle).
# Each engine gets one warm-up cycle, then CYCLES measured cycles, by SIGUSR1,
# waiting for each to finish (stock: its "KSMCTL start"/"stop ksm" log line
# and back in `wait`; ours: its "decision: " log line). The warm-up keeps our
# one-off initial /proc scan out of the per-cycle figure (it is reported on
# its own). See BENCHMARKS.md for what is measured and how.
#
# Two stand-in VMs (tests/helpers/fake_vm.c, argv "qemu-system-x86_64
# -enable-kvm -m 64 -name vmX") run throughout, so both engines find VMs.
# The fake meminfo puts the host under memory pressure (free < threshold),
# so every cycle takes the "start KSM, boost" branch: the one that logs and
# writes the most.
#
# Nothing is left behind: an EXIT trap ends every process started here; the
# stock script's mounts live in its own mount namespace and vanish with it.
# The real /sys/kernel/mm/ksm is never written (checked before and after).
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

SIZES=${SIZES:-100 1000 10000}
CYCLES=${CYCLES:-20}
IDLE_SECONDS=${IDLE_SECONDS:-2}
CHURN=${CHURN:-500}
RESULTS=${RESULTS:-$here/results/cycle_cost.csv}
OURS_BIN=${1:-${KSMTUNED_BIN:-}}
for n in $SIZES; do
        [[ $n =~ ^[0-9]+$ ]] || { echo "error: bad size '$n' in SIZES" >&2; exit 2; }
        k=CYCLES_$n
        k=${!k:-$CYCLES}
        if ! [[ $k =~ ^[0-9]+$ ]] || ((k < 5)); then
                echo "error: need at least 5 cycles (size $n: '$k')" >&2
                exit 2
        fi
done

[[ $(id -u) == 0 ]] || skip "needs root (mount namespace, bind mounts, proc connector)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m does not work here"
for tool in pgrep ps awk dpkg mount cc; do
        command -v "$tool" >/dev/null || skip "$tool is missing"
done

# Scratch files on tmpfs: the knobs the engines write stand in for sysfs,
# which is memory-backed; on a disk file system every truncate+write would
# add block allocation and journaling that the real knobs do not have.
if [[ -z ${BENCH_TMPDIR:-} ]]; then
        BENCH_TMPDIR=${TMPDIR:-/tmp}
        [[ -d /dev/shm && -w /dev/shm ]] && BENCH_TMPDIR=/dev/shm
fi
WORK=$(mktemp -d "$BENCH_TMPDIR/ksmtuned-bench.XXXXXX")
[[ $WORK != *[[:space:]]* ]] || { rm -rf "$WORK"; skip "TMPDIR contains whitespace"; }
BIN=$WORK/bin
mkdir -p "$BIN" "$WORK/proc"

# ------------------------------------------------------------------ cleanup
spawner_pid='' reaper_pid='' stock_pid='' ours_pid=''
declare -A FW_PID=() # forkwatch instances by name
vm_pids=()
end_stock() { # kill the stock loop, its stray sleeps, and wait for the reaper
        local -a kids=()
        if [[ -n $stock_pid ]] && [[ -d /proc/$stock_pid ]]; then
                kill -STOP "$stock_pid" 2>/dev/null || true
                mapfile -t kids < <(pgrep -P "$stock_pid" || true)
                kill -KILL "$stock_pid" 2>/dev/null || true
                # its children are now the reaper's (a subreaper)
                ((${#kids[@]} == 0)) || kill -KILL "${kids[@]}" 2>/dev/null || true
        fi
        stock_pid=
        if [[ -n $reaper_pid ]]; then
                wait "$reaper_pid" 2>/dev/null || true
                reaper_pid=
        fi
}
cleanup() {
        trap '' INT TERM
        for p in "${FW_PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        [[ -z $ours_pid ]] || kill -KILL "$ours_pid" 2>/dev/null || true
        end_stock
        [[ -z $spawner_pid ]] || kill -TERM "$spawner_pid" 2>/dev/null || true
        for p in "${vm_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------- ingredients
# Our daemon.
if [[ -z $OURS_BIN ]]; then
        OURS_BIN=$repo/build-bench/ksmtuned
        if [[ ! -x $OURS_BIN ]]; then
                echo "# building $OURS_BIN (Release)"
                cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
                cmake --build "$repo/build-bench" -j"$(nproc)" --target ksmtuned >/dev/null
        fi
fi
[[ -f $OURS_BIN && -x $OURS_BIN ]] || { echo "error: $OURS_BIN is not an executable" >&2; exit 2; }
OURS_BIN=$(realpath "$OURS_BIN")

# shellcheck source=common.sh
. "$here/common.sh"
stock_fetch "$WORK"

# Helpers.
CC=${CC:-cc}
"$CC" -O2 -static -o "$BIN/spawn_procs" "$here/spawn_procs.c" 2>/dev/null ||
        "$CC" -O2 -o "$BIN/spawn_procs" "$here/spawn_procs.c"
"$CC" -O2 -o "$BIN/subreaper" "$here/subreaper.c"
"$CC" -O2 -o "$BIN/forkwatch" "$here/forkwatch.c"
if [[ -f $repo/tests/helpers/fake_vm.c ]]; then
        "$CC" -std=gnu11 -O2 -o "$BIN/fake_vm" "$repo/tests/helpers/fake_vm.c"
else
        die "tests/helpers/fake_vm.c is missing"
fi
ln -s fake_vm "$BIN/qemu-system-x86_64"

# Is the proc connector usable? (ours needs it for the events mode)
"$BIN/forkwatch" "$WORK/fw-probe" $$ >/dev/null 2>"$WORK/fw-probe.err" &
probe=$!
for ((i = 0; i < 200; i++)); do
        [[ -s $WORK/fw-probe || ! -d /proc/$probe ]] && break
        sleep 0.01
done
kill -TERM "$probe" 2>/dev/null || true
wait "$probe" 2>/dev/null || skip "proc connector unavailable: $(cat "$WORK/fw-probe.err")"

CLK_TCK=$(getconf CLK_TCK)
KNOBS=(run pages_to_scan sleep_millisecs)
real_knobs() {
        local k out=
        for k in "${KNOBS[@]}"; do
                out+="$k=$(cat "/sys/kernel/mm/ksm/$k" 2>/dev/null || echo '-') "
        done
        echo "$out"
}
real_knobs_before=$(real_knobs)

# Host under memory pressure: 16 GiB total, 1 GB free => start + boost.
write_pressure_meminfo "$WORK/proc/meminfo"

# ---------------------------------------------- fork-free polling primitives
# Inside ours' measurement windows the driver must not fork: the daemon sees
# every fork/exec/exit on the host through the proc connector and would be
# charged for ours. Everything below uses bash builtins only.
tick_open "$WORK"
nap() { read -r -t "$1" -u "$TICK" _ || true; } # sleep without fork

declare -a STAT # fields 3.. of /proc/PID/stat: STAT[0] = field 3 (state)
read_stat() {
        local line
        read -r line <"/proc/$1/stat" || return 1
        line=${line##*) }
        read -r -a STAT <<<"$line"
}
SCHED_NS=0
read_schedstat() { # sum of on-CPU ns over the threads of PID
        local t a
        SCHED_NS=0
        for t in /proc/"$1"/task/*/schedstat; do
                read -r a _ <"$t" || continue
                SCHED_NS=$((SCHED_NS + a))
        done
}
WCHAN=
read_wchan() { WCHAN=; read -r WCHAN <"/proc/$1/wchan" 2>/dev/null || true; }

LOGFD='' LOGCOUNT=0 LOGPART=''
log_open() { # FILE
        : >>"$1"
        [[ -z $LOGFD ]] || exec {LOGFD}<&-
        exec {LOGFD}<"$1"
        LOGCOUNT=0 LOGPART=
}
log_poll() { # PATTERN...: count complete new lines matching any PATTERN
        local line p
        while IFS= read -r -u "$LOGFD" line; do
                line=$LOGPART$line
                LOGPART=
                for p in "$@"; do
                        if [[ $line == *"$p"* ]]; then
                                LOGCOUNT=$((LOGCOUNT + 1))
                                break
                        fi
                done
        done
        LOGPART+=$line # a line still being written
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll every ms (no forks)
wait_until() {
        local limit=$1 what=$2 t0=${EPOCHREALTIME/./}
        shift 2
        until "$@"; do
                ((${EPOCHREALTIME/./} - t0 < limit * 1000000)) || die "timed out after ${limit}s waiting for $what"
                nap 0.001
        done
}

# ------------------------------------------------------------------ engines
# Run inside the stock script's mount namespace, then exec the script.
# $1 meminfo, $2 sysfs dir, $3 config, $4 scratch dir, $5 the script.
# shellcheck disable=SC2016
readonly NS_SETUP='
set -e
mount --bind "$1" /proc/meminfo
if [ ! -d /sys/kernel/mm/ksm ]; then
        mount -t tmpfs -o mode=755 fakemm /sys/kernel/mm
        mkdir /sys/kernel/mm/ksm
fi
mount --bind "$2" /sys/kernel/mm/ksm
if [ -e /etc/ksmtuned.conf ]; then
        mount --bind "$3" /etc/ksmtuned.conf
else
        mount -t tmpfs scratch "$4"
        mkdir "$4/upper" "$4/work"
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$4/upper,workdir=$4/work" /etc
        cp "$3" /etc/ksmtuned.conf
fi
exec bash "$5"
'

make_engine_dir() { # DIR CONF_PREFIX
        local d=$1 k
        mkdir -p "$d/sys" "$d/ns"
        for k in "${KNOBS[@]}"; do echo 0 >"$d/sys/$k"; done
        {
                echo "KSM_MONITOR_INTERVAL=3600"
                echo "DEBUG=1"
                echo "LOGFILE=$d/log"
                echo "PIDFILE=$d/pid"
        } >"$d/conf"
}

alive() { [[ -d /proc/$1 ]] && read_stat "$1" && [[ ${STAT[0]} != Z ]]; }

# The stock loop takes SIGUSR1 only while blocked in `wait` for its sleep:
# earlier, the signal is lost (or kills it before its trap is set). After
# its last log line of a cycle the only blocking wait is that one.
stock_ready() { # CYCLES_DONE
        alive "$stock_pid" || die "the stock script died: $(cat "$SD/out")"
        log_poll 'KSMCTL start' 'stop ksm'
        ((LOGCOUNT >= $1)) || return 1
        read_wchan "$stock_pid"
        [[ $WCHAN == *wait* && ${STAT[0]} == S ]]
}
ours_done() { # CYCLES_DONE
        alive "$ours_pid" || die "our daemon died: $(cat "$SD/out")"
        log_poll 'decision: '
        ((LOGCOUNT >= $1)) && [[ ${STAT[0]} == S ]]
}
ours_ready() { # SIGUSR1 caught or blocked (signalfd), bit 9
        local key val cgt=0 blk=0
        alive "$ours_pid" || die "our daemon died at start-up: $(cat "$SD/out")"
        [[ /proc/$ours_pid/exe -ef $OURS_BIN ]] || return 1 # env has exec'd it
        while read -r key val; do
                case $key in
                SigCgt:) cgt=$val ;;
                SigBlk:) blk=$val ;;
                esac
        done <"/proc/$ours_pid/status"
        (((16#$cgt | 16#$blk) & 0x200))
}

# forkwatch (bench/forkwatch.c) in the background: one per NAME.
fw_start() { # NAME ROOT_PID|all
        rm -f "$WORK/fw-$1.ready"
        "$BIN/forkwatch" "$WORK/fw-$1.ready" "$2" >"$WORK/fw-$1.out" 2>&1 &
        FW_PID[$1]=$!
        wait_until 10 "forkwatch" test -s "$WORK/fw-$1.ready"
}
FW_FORKS=0 FW_EXECS=0 FW_THREADS=0 FW_OVERFLOWS=0
fw_stop() { # NAME
        local line
        kill -TERM "${FW_PID[$1]}"
        wait "${FW_PID[$1]}" || die "forkwatch failed: $(cat "$WORK/fw-$1.out")"
        unset "FW_PID[$1]"
        read -r line <"$WORK/fw-$1.out"
        [[ $line =~ forks=([0-9]+)\ threads=([0-9]+)\ execs=([0-9]+)\ overflows=([0-9]+) ]] ||
                die "forkwatch said: $line"
        FW_FORKS=${BASH_REMATCH[1]} FW_THREADS=${BASH_REMATCH[2]}
        FW_EXECS=${BASH_REMATCH[3]} FW_OVERFLOWS=${BASH_REMATCH[4]}
}

sum_kids_sched() { # PID...: on-CPU ns of those still alive
        local p s=0
        for p in "$@"; do
                [[ -d /proc/$p ]] || continue
                read_schedstat "$p"
                s=$((s + SCHED_NS))
        done
        echo "$s"
}
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, a / b }'; } # A B FORMAT
last_committed() { # LOG: kB of VM memory the engine found in its last cycle
        grep -E ': committed [0-9]+' "$1" | tail -n 1 | sed -E 's/.*: committed ([0-9]+).*/\1/'
}

COLUMNS_CSV=n_extra,host_procs,engine,tracking,cycles,cpu_ms_per_cycle,cpu_source,cpu_ms_per_cycle_xcheck,xcheck_source,wall_ms_per_cycle,first_cycle_cpu_ms,cpu_ms_per_cycle_minus_idle,forks_per_cycle,execs_per_cycle,threads_per_cycle,fw_overflows,peak_rss_kb,peak_rss_source,vm_rss_kb,rss_anon_kb,rss_file_kb,pss_kb,private_kb,idle_cpu_us_per_s,host_forks_per_s,host_execs_per_s,churn_procs,churn_us_per_proc,committed_kb_last_cycle,pages_to_scan_after
echo "$COLUMNS_CSV" >"$WORK/rows.csv"
csv_row() { local IFS=,; echo "$*" >>"$WORK/rows.csv"; }

# One warm-up cycle (not in the window: for ours it includes the initial full
# /proc scan), then K measured cycles.
run_stock() { # N K
        local n=$1 k=$2 c t0 t1 s0 s1 tk0 tk1 ns line rss=- ru_cpu=- first
        local committed pts pid forks execs threads overflows
        SD=$WORK/$n-stock
        make_engine_dir "$SD"
        # The script forks its loop and exits; the loop is re-parented to the
        # subreaper, which reports its wait4() rusage when it is killed.
        "$BIN/subreaper" "$SD/reaper.txt" env -i PATH="$SAFE_PATH" LC_ALL=C HOME=/ \
                unshare -m --propagation private -- bash -c "$NS_SETUP" ns-setup \
                "$WORK/proc/meminfo" "$SD/sys" "$SD/conf" "$SD/ns" "$STOCK_SCRIPT" \
                </dev/null >"$SD/out" 2>&1 &
        reaper_pid=$!
        wait_until 20 "the stock pidfile" test -s "$SD/pid"
        read -r stock_pid <"$SD/pid"
        log_open "$SD/log"
        wait_until 20 "the stock loop to wait" stock_ready 0
        fw_start stock "$stock_pid"

        read_stat "$stock_pid"
        tk0=$((STAT[11] + STAT[12] + STAT[13] + STAT[14]))
        kill -USR1 "$stock_pid" # warm-up
        wait_until 300 "stock warm-up cycle" stock_ready 1
        read_stat "$stock_pid"
        tk1=$((STAT[11] + STAT[12] + STAT[13] + STAT[14]))
        first=$(div "$(((tk1 - tk0) * 1000))" "$CLK_TCK" %.1f)

        # The window: loop's own CPU + its reaped descendants' (utime, stime,
        # cutime, cstime of /proc/PID/stat) + its live `sleep` children.
        local -a kids
        mapfile -t kids < <(pgrep -P "$stock_pid")
        s0=$(sum_kids_sched "${kids[@]}")
        read_stat "$stock_pid"
        tk0=$((STAT[11] + STAT[12] + STAT[13] + STAT[14]))
        t0=${EPOCHREALTIME/./}
        for ((c = 2; c <= k + 1; c++)); do
                kill -USR1 "$stock_pid"
                wait_until 300 "stock cycle $c" stock_ready "$c"
        done
        t1=${EPOCHREALTIME/./}
        read_stat "$stock_pid"
        tk1=$((STAT[11] + STAT[12] + STAT[13] + STAT[14]))
        mapfile -t kids < <(pgrep -P "$stock_pid")
        s1=$(sum_kids_sched "${kids[@]}")
        fw_stop stock
        forks=$(div "$FW_FORKS" $((k + 1)) %.2f) execs=$(div "$FW_EXECS" $((k + 1)) %.2f)
        threads=$(div "$FW_THREADS" $((k + 1)) %.2f) overflows=$FW_OVERFLOWS
        ns=$(((tk1 - tk0) * 1000000000 / CLK_TCK + s1 - s0))
        ((LOGCOUNT == k + 1)) || die "stock logged $LOGCOUNT cycles for $((k + 1)) SIGUSR1"
        committed=$(last_committed "$SD/log")
        pts=$(<"$SD/sys/pages_to_scan")
        pid=$stock_pid
        end_stock
        line=$(grep "^pid=$pid " "$SD/reaper.txt" || true)
        if [[ $line =~ maxrss_kb=([0-9]+)\ utime_us=([0-9]+)\ stime_us=([0-9]+) ]]; then
                rss=${BASH_REMATCH[1]}
                ru_cpu=$(div "$((BASH_REMATCH[2] + BASH_REMATCH[3]))" $((1000 * (k + 1))) %.3f)
        fi
        csv_row "$n" "$HOST_PROCS" stock - "$k" "$(div "$ns" $((1000000 * k)) %.3f)" proc-stat-tree \
                "$ru_cpu" wait4-rusage-lifetime "$(((t1 - t0) / k / 1000))" "$first" - \
                "$forks" "$execs" "$threads" "$overflows" "$rss" wait4-ru_maxrss-largest-process \
                - - - - - - - - - - "$committed" "$pts"
}

run_ours() { # N K MODE(events|scan)
        local n=$1 k=$2 mode=$3 c t0 t1 ns0 ns1 tk0 tk1 idle first settings=/nonexistent
        local hwm=- vmrss=- anon=- file=- pss=- priv=0 key val committed pts tracking rc=0
        local forks execs threads overflows hforks hexecs net churn_n churn_us i
        SD=$WORK/$n-ours-$mode
        make_engine_dir "$SD"
        if [[ $mode == scan ]]; then
                settings=$SD/settings
                echo 'vm_tracking = "scan";' >"$settings"
        fi
        env -i PATH="$SAFE_PATH" LC_ALL=C HOME=/ \
                "$OURS_BIN" --foreground --config "$SD/conf" --settings "$settings" \
                --sysfs-dir "$SD/sys" --proc-dir "$WORK/proc" </dev/null >"$SD/out" 2>&1 &
        ours_pid=$!
        wait_until 20 "our daemon to start" ours_ready
        log_open "$SD/log"
        fw_start ours "$ours_pid"
        # From here on the driver does not fork until fw_start host / fw_stop.

        read_schedstat "$ours_pid"
        ns0=$SCHED_NS
        kill -USR1 "$ours_pid" # warm-up
        wait_until 300 "our warm-up cycle ($mode)" ours_done 1
        read_schedstat "$ours_pid"
        first=$(div $((SCHED_NS - ns0)) 1000000 %.3f)

        # Idle: what it costs between cycles (proc connector events of the host).
        fw_start host all
        read_schedstat "$ours_pid"
        ns0=$SCHED_NS
        t0=${EPOCHREALTIME/./}
        nap "$IDLE_SECONDS"
        read_schedstat "$ours_pid"
        t1=${EPOCHREALTIME/./}
        idle=$(((SCHED_NS - ns0) * 1000 / (t1 - t0))) # ns/ms = us/s
        fw_stop host
        hforks=$(div $((FW_FORKS * 1000000)) $((t1 - t0)) %.0f)
        hexecs=$(div $((FW_EXECS * 1000000)) $((t1 - t0)) %.0f)

        # Churn: the driver starts CHURN short-lived processes; what does each
        # cost the daemon (fork, exec and exit events)? The idle rate is
        # subtracted; forkwatch counts every process started meanwhile.
        fw_start host all
        read_schedstat "$ours_pid"
        ns0=$SCHED_NS
        t0=${EPOCHREALTIME/./}
        for ((i = 0; i < CHURN; i++)); do /bin/true; done
        nap 0.2 # let it drain its queue
        read_schedstat "$ours_pid"
        t1=${EPOCHREALTIME/./}
        fw_stop host
        churn_n=$FW_FORKS
        churn_us=$(awk -v c=$((SCHED_NS - ns0)) -v i="$idle" -v w=$((t1 - t0)) -v n="$churn_n" \
                'BEGIN { printf "%.1f", (n > 0 ? (c / 1e3 - i * w / 1e6) / n : 0) }')

        # The window. No forks from here to the end of the loop.
        read_stat "$ours_pid"
        tk0=$((STAT[11] + STAT[12]))
        read_schedstat "$ours_pid"
        ns0=$SCHED_NS
        t0=${EPOCHREALTIME/./}
        for ((c = 2; c <= k + 1; c++)); do
                kill -USR1 "$ours_pid"
                wait_until 300 "our cycle $c ($mode)" ours_done "$c"
        done
        t1=${EPOCHREALTIME/./}
        read_schedstat "$ours_pid"
        ns1=$SCHED_NS
        read_stat "$ours_pid"
        tk1=$((STAT[11] + STAT[12]))
        fw_stop ours
        forks=$(div "$FW_FORKS" $((k + 1)) %.2f) execs=$(div "$FW_EXECS" $((k + 1)) %.2f)
        threads=$(div "$FW_THREADS" $((k + 1)) %.2f) overflows=$FW_OVERFLOWS
        ((LOGCOUNT == k + 1)) || die "ours logged $LOGCOUNT cycles for $((k + 1)) SIGUSR1"
        # Rough: the window's CPU less what the idle rate predicts for its length.
        net=$(awk -v c=$((ns1 - ns0)) -v i="$idle" -v w=$((t1 - t0)) -v k="$k" \
                'BEGIN { printf "%.4f", (c / 1e6 - i * w / 1e9) / k }')

        while read -r key val _; do
                case $key in
                VmHWM:) hwm=$val ;;
                VmRSS:) vmrss=$val ;;
                RssAnon:) anon=$val ;;
                RssFile:) file=$val ;;
                esac
        done <"/proc/$ours_pid/status"
        while read -r key val _; do
                case $key in
                Pss:) pss=$val ;;
                Private_Clean: | Private_Dirty:) priv=$((priv + val)) ;;
                esac
        done <"/proc/$ours_pid/smaps_rollup"
        kill -TERM "$ours_pid"
        wait "$ours_pid" || rc=$?
        ours_pid=
        ((rc == 0)) || die "our daemon exited $rc on SIGTERM: $(tail -n 5 "$SD/out")"
        if grep -q 'Tracking VM processes with kernel process events' "$SD/log"; then
                tracking=proc-connector
        elif grep -q 'Process events unavailable' "$SD/log"; then
                tracking=scan-fallback
        elif grep -q 'full /proc scan each cycle' "$SD/log"; then
                tracking=full-scan
        else
                tracking=unknown
        fi
        committed=$(last_committed "$SD/log")
        pts=$(<"$SD/sys/pages_to_scan")
        csv_row "$n" "$HOST_PROCS" "ours-$mode" "$tracking" "$k" "$(div $((ns1 - ns0)) $((1000000 * k)) %.4f)" \
                schedstat "$(div $(((tk1 - tk0) * 1000)) $((CLK_TCK * k)) %.3f)" proc-stat-ticks \
                "$(((t1 - t0) / k / 1000))" "$first" "$net" "$forks" "$execs" "$threads" "$overflows" \
                "$hwm" VmHWM "$vmrss" "$anon" "$file" "$pss" "$priv" "$idle" "$hforks" "$hexecs" \
                "$churn_n" "$churn_us" \
                "$committed" "$pts"
}

# --------------------------------------------------------------------- main
echo "# stock: $STOCK_NAME; ours: $OURS_BIN"
echo "# $(nproc) CPUs, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

for i in 1 2; do
        (
                export FAKE_VM_READY=$WORK/vm$i.ready
                exec -a qemu-system-x86_64 "$BIN/qemu-system-x86_64" -enable-kvm -m 64 -name "vm$i"
        ) </dev/null >"$WORK/vm$i.out" 2>&1 &
        vm_pids+=($!)
        wait_until 20 "fake VM $i" test -s "$WORK/vm$i.ready"
done

for n in $SIZES; do
        k=CYCLES_$n
        k=${!k:-$CYCLES}
        rm -f "$WORK/spawn.ready"
        "$BIN/spawn_procs" "$n" "$WORK/spawn.ready" &
        spawner_pid=$!
        wait_until 120 "$n processes" test -s "$WORK/spawn.ready"
        procs=(/proc/[0-9]*)
        HOST_PROCS=${#procs[@]}
        echo "# N=$n: $HOST_PROCS processes on the host, $k cycles per engine"
        run_stock "$n" "$k"
        run_ours "$n" "$k" events
        run_ours "$n" "$k" scan
        kill -TERM "$spawner_pid"
        wait "$spawner_pid" || die "spawn_procs failed"
        spawner_pid=
done

real_knobs_after=$(real_knobs)
[[ $real_knobs_before == "$real_knobs_after" ]] ||
        die "the real /sys/kernel/mm/ksm changed: $real_knobs_before -> $real_knobs_after"

mkdir -p "$(dirname "$RESULTS")"
cp "$WORK/rows.csv" "$RESULTS"
echo "# raw results: ${RESULTS#"$repo"/}"
echo

# Markdown tables, one row per size.
awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
        n = $col["n_extra"]; e = $col["engine"]
        if (!(n in seen)) { seen[n] = 1; order[++sizes] = n }
        for (c in col) v[n, e, c] = $col[c]
}
function g(n, e, c) { return v[n, e, c] }
function ratio(a, b) { return b > 0 ? sprintf("%.0f×", a / b) : "∞" }
function fx(n, e) { return g(n, e, "forks_per_cycle") + g(n, e, "execs_per_cycle") }
END {
        print "CPU per adjustment cycle (stock: whole process tree; ours: the daemon)"
        print ""
        print "| extra procs (on host) | cycles | stock ms/cycle | ours ms/cycle, events | ours ms/cycle, scan | stock ÷ ours, events | stock ÷ ours, scan | forks+execs per cycle: stock / events / scan |"
        print "|---:|---:|---:|---:|---:|---:|---:|---|"
        for (i = 1; i <= sizes; i++) {
                n = order[i]
                printf "| %d (%d) | %d | %.2f | %.4f | %.3f | %s | %s | %.1f / %.1f / %.1f |\n",
                        n, g(n, "stock", "host_procs"), g(n, "stock", "cycles"),
                        g(n, "stock", "cpu_ms_per_cycle"), g(n, "ours-events", "cpu_ms_per_cycle"),
                        g(n, "ours-scan", "cpu_ms_per_cycle"),
                        ratio(g(n, "stock", "cpu_ms_per_cycle"), g(n, "ours-events", "cpu_ms_per_cycle")),
                        ratio(g(n, "stock", "cpu_ms_per_cycle"), g(n, "ours-scan", "cpu_ms_per_cycle")),
                        fx(n, "stock"), fx(n, "ours-events"), fx(n, "ours-scan")
        }
        print ""
        print "Memory, first cycle, idle cost (ours: events / scan)"
        print ""
        print "| extra procs | stock peak RSS kB (largest process) | ours VmHWM kB | ours RssAnon kB | ours private kB | ours PSS kB | ours 1st cycle ms | ours idle µs/s, events (host forks+execs/s) | ours ms/cycle, events, minus idle | ours µs per host process started: events / scan |"
        print "|---:|---:|---|---|---|---|---|---|---:|---|"
        for (i = 1; i <= sizes; i++) {
                n = order[i]
                printf "| %d | %s | %s / %s | %s / %s | %s / %s | %s / %s | %.2f / %.2f | %s (%d) | %s | %s / %s |\n",
                        n, g(n, "stock", "peak_rss_kb"),
                        g(n, "ours-events", "peak_rss_kb"), g(n, "ours-scan", "peak_rss_kb"),
                        g(n, "ours-events", "rss_anon_kb"), g(n, "ours-scan", "rss_anon_kb"),
                        g(n, "ours-events", "private_kb"), g(n, "ours-scan", "private_kb"),
                        g(n, "ours-events", "pss_kb"), g(n, "ours-scan", "pss_kb"),
                        g(n, "ours-events", "first_cycle_cpu_ms"), g(n, "ours-scan", "first_cycle_cpu_ms"),
                        g(n, "ours-events", "idle_cpu_us_per_s"),
                        g(n, "ours-events", "host_forks_per_s") + g(n, "ours-events", "host_execs_per_s"),
                        g(n, "ours-events", "cpu_ms_per_cycle_minus_idle"),
                        g(n, "ours-events", "churn_us_per_proc"), g(n, "ours-scan", "churn_us_per_proc")
        }
}' "$RESULTS"

#!/bin/bash
# Differential test: Debian's packaged ksmtuned script (the oracle) against our
# daemon. Both run through the same scenarios and must write the same values to
# the KSM knobs.
#
# usage: run.sh [KSMTUNED_BIN | --stock-only] [SCENARIO...]
#   KSMTUNED_BIN  our daemon (or env KSMTUNED_BIN). --stock-only runs just the
#                 oracle and checks the expectations written in the scenarios.
#   SCENARIO      names (boost-ramp) or paths of .scn files; default: all.
# env: FAKE_VM_BIN (else tests/helpers/fake_vm.c is compiled with $CC or cc),
#      KSMTUNED_STOCK_CACHE (where the .deb is kept between runs).
# Exit: 0 all passed, 1 a failure, 2 usage error, 77 skipped (not root, no
# mount namespaces, or the Debian package cannot be had).
#
# The oracle is GPL code: it is downloaded at test time with
# `apt-get download ksmtuned` and never copied into this repository. It runs
# exactly as packaged, with its hard-coded paths, inside a private mount
# namespace where /proc/meminfo, /sys/kernel/mm/ksm and /etc/ksmtuned.conf are
# replaced by files of this test. Ours gets the same inputs through
# --proc-dir, --sysfs-dir and --config. VMs are fake_vm processes seen by both.
#
# Scenario files (scenarios/*.scn), one directive per line:
#   # text                  comment
#   conf TEXT               a line of the legacy config (TEXT verbatim; a bare
#                           "conf" is an empty line)
#   conf-noeol              write the config's last line without a newline
#   settings TEXT           a line of our extended settings file (default: none)
#   meminfo KEY=VALUE...    set fake meminfo values in kB (MemTotal, MemFree,
#                           MemAvailable, Buffers, Cached, SwapCached; all 0
#                           until set). Both engines read MemTotal once, at start.
#   vm start NAME MIB [ARGV0]   start a fake VM: ARGV0 (default
#                           qemu-system-x86_64) -name NAME -m MIB -enable-kvm
#   vm stop NAME
#   cycle [EXPECTED]        one tuning cycle (SIGUSR1) of each engine; the
#                           engines start at the first cycle. EXPECTED, if
#                           given, is the trace line the oracle must produce.
# The harness puts DEBUG, LOGFILE, PIDFILE and KSM_MONITOR_INTERVAL=3600 before
# the scenario's config lines.
#
# Trace: before each cycle every knob file is set to "-"; after it the line
# "run=V pages_to_scan=V sleep_millisecs=V" records what was written ("-" means
# not written). One more line, first, records the knobs before the first cycle
# (nothing may be written at start-up).
#
# VMs and any real qemu-system processes on the host are seen by both engines,
# so run this test alone (the ctest test is RUN_SERIAL).
set -euo pipefail

readonly SKIP=77
readonly SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly KNOBS=(run pages_to_scan sleep_millisecs)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- one scenario
# Runs in its own bash process (see main) so that `set -e` and the cleanup
# trap cover exactly one scenario. Diagnostics go to stdout; exit 0 = pass.

fail() {
        echo "error: $*"
        exit 1
}

alive() {
        [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_until DESCRIPTION COMMAND...: poll every 20 ms, give up after 10 s.
wait_until() {
        local what=$1 i
        shift
        for ((i = 0; i < 500; i++)); do
                if "$@"; then
                        return 0
                fi
                sleep 0.02
        done
        fail "timed out after 10 s waiting for $what"
}

count_lines() { # PATTERN FILE: number of matching lines, 0 if no file yet
        local n
        n=$(grep -cE -- "$1" "$2" 2>/dev/null || true)
        echo "${n:-0}"
}

declare -A vm_pid=()
stock_pid='' ours_pid='' cycles=0 errors=0

scenario_cleanup() {
        local name i
        local -a kids
        trap '' INT TERM # a second signal must not cut the cleanup short
        for name in "${!vm_pid[@]}"; do
                kill -TERM "${vm_pid[$name]}" 2>/dev/null || true
        done
        if [[ -n $stock_pid ]] && alive "$stock_pid"; then
                # Every SIGUSR1 leaves the oracle's interrupted `sleep 3600`
                # behind as its child: freeze it, end those, then end it.
                kill -STOP "$stock_pid" 2>/dev/null || true
                mapfile -t kids < <(pgrep -P "$stock_pid" || true)
                ((${#kids[@]} == 0)) || kill -KILL "${kids[@]}" 2>/dev/null || true
                kill -KILL "$stock_pid" 2>/dev/null || true
        fi
        if [[ -n $ours_pid ]] && alive "$ours_pid"; then
                kill -TERM "$ours_pid" 2>/dev/null || true
                for ((i = 0; i < 100; i++)); do
                        alive "$ours_pid" || break
                        sleep 0.02
                done
                kill -KILL "$ours_pid" 2>/dev/null || true
        fi
        wait 2>/dev/null || true
}

write_meminfo() {
        local key
        for key in MemTotal MemFree MemAvailable Buffers Cached SwapCached; do
                printf '%-16s%8s kB\n' "$key:" "${mem[$key]}"
        done >"$SDIR/proc/meminfo" # rewritten in place: the bind mount pins the inode
}

write_conf() { # ENGINE: the legacy config for one engine
        local f="$SDIR/$1.conf" i n=${#conf_lines[@]}
        {
                echo "# generated by tests/differential/run.sh"
                echo "DEBUG=1"
                echo "LOGFILE=$SDIR/$1.log"
                echo "PIDFILE=$SDIR/$1.pid"
                echo "KSM_MONITOR_INTERVAL=3600"
                for ((i = 0; i < n; i++)); do
                        if ((i == n - 1 && conf_noeol)); then
                                printf '%s' "${conf_lines[i]}"
                        else
                                printf '%s\n' "${conf_lines[i]}"
                        fi
                done
        } >"$f"
}

reset_knobs() { # DIR
        local k
        # "-\n" is 2 bytes, as long as the shortest real write ("1\n"), so a
        # writer that does not truncate still replaces the whole sentinel.
        for k in "${KNOBS[@]}"; do
                printf -- '-\n' >"$1/$k"
        done
}

trace_line() { # DIR
        local k v out=
        for k in "${KNOBS[@]}"; do
                if [[ -f $1/$k ]]; then
                        v=$(<"$1/$k")
                        v=${v//$'\n'/\\n}
                else
                        v='<missing>'
                fi
                out+="${out:+ }$k=$v"
        done
        echo "$out"
}

# The mount setup run inside the oracle's namespace before exec'ing it.
# $1 meminfo, $2 sysfs dir, $3 config, $4 scratch dir, $5 the script.
# shellcheck disable=SC2016
readonly NS_SETUP='
set -e
mount --bind "$1" /proc/meminfo
if [ ! -d /sys/kernel/mm/ksm ]; then      # kernel without KSM
        mount -t tmpfs -o mode=755 fakemm /sys/kernel/mm
        mkdir /sys/kernel/mm/ksm
fi
mount --bind "$2" /sys/kernel/mm/ksm
if [ -e /etc/ksmtuned.conf ]; then
        mount --bind "$3" /etc/ksmtuned.conf
else                                      # cannot bind onto a missing file:
        mount -t tmpfs scratch "$4"       # overlay /etc, in this namespace only
        mkdir "$4/upper" "$4/work"
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$4/upper,workdir=$4/work" /etc
        cp "$3" /etc/ksmtuned.conf
fi
exec bash "$5"
'

start_stock() {
        mkdir -p "$SDIR/stock.sys" "$SDIR/ns"
        reset_knobs "$SDIR/stock.sys"
        write_conf stock
        # The script forks its loop and exits; the loop keeps the namespace.
        env -i PATH="$SAFE_PATH" LC_ALL=C HOME=/ \
                unshare -m --propagation private -- bash -c "$NS_SETUP" ns-setup \
                "$SDIR/proc/meminfo" "$SDIR/stock.sys" "$SDIR/stock.conf" "$SDIR/ns" \
                "$STOCK_SCRIPT" </dev/null >>"$SDIR/stock.out" 2>&1 ||
                fail "the oracle did not start: $(cat "$SDIR/stock.out")"
        [[ -s $SDIR/stock.pid ]] || fail "the oracle wrote no pidfile: $(cat "$SDIR/stock.out")"
        stock_pid=$(<"$SDIR/stock.pid")
        wait_until "the oracle to wait for its first interval" stock_ready
}

# The oracle only reacts to SIGUSR1 while its loop is blocked in `wait`: a
# signal that comes earlier (trap not yet set, or `sleep &` not yet started)
# is lost or kills it. It is in `wait` when it has one sleep child per cycle
# done plus the current one, and the kernel shows it blocked in a wait call.
stock_ready() {
        local n w
        alive "$stock_pid" || fail "the oracle died: $(cat "$SDIR/stock.out")"
        n=$(pgrep -c -x -P "$stock_pid" sleep || true)
        [[ $n == $((cycles + 1)) ]] || return 1
        w=$(cat "/proc/$stock_pid/wchan" 2>/dev/null || true)
        case $w in
        *wait*) return 0 ;;
        0 | '') # no wchan on this kernel: settle for "sleeping", plus a margin
                grep -q '^State:[[:space:]]*S' "/proc/$stock_pid/status" || return 1
                sleep 0.1
                return 0
                ;;
        *) return 1 ;;
        esac
}

# The oracle's last debug line of a cycle: "... KSMCTL start N S" or "... stop ksm".
stock_done() { # CYCLES
        alive "$stock_pid" || fail "the oracle died: $(cat "$SDIR/stock.out")"
        (($(count_lines 'KSMCTL start|stop ksm' "$SDIR/stock.log") >= $1))
}

start_ours() {
        local settings="$SDIR/no-such-settings"
        mkdir -p "$SDIR/ours.sys"
        reset_knobs "$SDIR/ours.sys"
        write_conf ours
        if ((${#settings_lines[@]})); then
                settings="$SDIR/ours.settings"
                printf '%s\n' "${settings_lines[@]}" >"$settings"
        fi
        env -i PATH="$SAFE_PATH" LC_ALL=C HOME=/ \
                "$OURS_BIN" --foreground --config "$SDIR/ours.conf" --settings "$settings" \
                --sysfs-dir "$SDIR/ours.sys" --proc-dir "$SDIR/proc" \
                </dev/null >>"$SDIR/ours.out" 2>&1 &
        ours_pid=$!
        wait_until "our daemon to handle SIGUSR1" ours_ready
}

# Ready once SIGUSR1 (bit 9 of the masks) is caught or blocked (signalfd).
ours_ready() {
        local cgt blk
        alive "$ours_pid" || fail "our daemon died at start-up: $(cat "$SDIR/ours.out")"
        cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$ours_pid/status" 2>/dev/null || true)
        blk=$(awk '/^SigBlk:/ {print $2}' "/proc/$ours_pid/status" 2>/dev/null || true)
        (((16#${cgt:-0} | 16#${blk:-0}) & 0x200))
}

# Ours logs exactly one "decision: " line per cycle, at its end.
ours_done() { # CYCLES
        alive "$ours_pid" || fail "our daemon died: $(cat "$SDIR/ours.out")"
        (($(count_lines 'decision: ' "$SDIR/ours.log") >= $1))
}

# run_cycle ENGINE PID DONE_PATTERN: one cycle, its trace line appended to ENGINE.trace
run_cycle() {
        local n want=$((cycles + 1))
        reset_knobs "$SDIR/$1.sys"
        [[ $1 != stock ]] || wait_until "the oracle to be back in its wait" stock_ready
        kill -USR1 "$2" 2>/dev/null || fail "$1 is gone: $(tail -n 5 "$SDIR/$1.out")"
        wait_until "cycle $want of $1" "$1_done" "$want"
        n=$(count_lines "$3" "$SDIR/$1.log")
        ((n == want)) || fail "$1 logged $n cycles after $want SIGUSR1"
        trace_line "$SDIR/$1.sys" >>"$SDIR/$1.trace"
}

start_engines() {
        start_stock
        trace_line "$SDIR/stock.sys" >"$SDIR/stock.trace"
        if [[ -n $OURS_BIN ]]; then
                start_ours
                trace_line "$SDIR/ours.sys" >"$SDIR/ours.trace"
        fi
}

# Other VM-like processes on the host count for both engines too (maybe not at
# the same moment): name them so that a failure they cause is understood.
note_foreign_vms() {
        local pid mine=" ${vm_pid[*]} "
        for pid in $( (pgrep '^(qemu|kvm)' && pgrep -f '^(qemu|kvm)') | sort -u); do
                [[ $mine == *" $pid "* ]] ||
                        echo "line $lineno: note: foreign VM-like process $(ps -o pid=,args= -p "$pid")"
        done
}

do_cycle() { # [EXPECTED...]
        local want got
        note_foreign_vms
        [[ -n $stock_pid ]] || start_engines
        run_cycle stock "$stock_pid" 'KSMCTL start|stop ksm'
        [[ -z $OURS_BIN ]] || run_cycle ours "$ours_pid" 'decision: '
        cycles=$((cycles + 1))
        if (($#)); then
                want="$*"
                got=$(tail -n 1 "$SDIR/stock.trace")
                if [[ $got != "$want" ]]; then
                        echo "line $lineno: the oracle wrote '$got', the scenario expects '$want'"
                        echo "  its log: $(grep 'committed' "$SDIR/stock.log" | tail -n 1)"
                        errors=$((errors + 1))
                fi
        fi
}

vm_start() { # NAME MIB [ARGV0]
        local name=$1 mib=$2 argv0=${3:-qemu-system-x86_64} link pid
        [[ -z ${vm_pid[$name]-} ]] || fail "line $lineno: VM $name already runs"
        mkdir -p "$SDIR/bin"
        # comm comes from the file name that is exec'd, argv[0] from exec -a
        link="$SDIR/bin/${argv0##*/}"
        [[ -e $link ]] || ln -s "$FAKE_VM" "$link"
        rm -f "$SDIR/vm-$name.ready"
        (
                export FAKE_VM_READY="$SDIR/vm-$name.ready"
                exec -a "$argv0" "$link" -name "$name" -m "$mib" -enable-kvm
        ) </dev/null >>"$SDIR/vm-$name.out" 2>&1 &
        pid=$!
        vm_pid[$name]=$pid
        wait_until "VM $name to touch its memory" vm_ready "$name"
        [[ $(<"$SDIR/vm-$name.ready") == "$pid" ]] || fail "VM $name: pid mismatch"
}

vm_ready() {
        alive "${vm_pid[$1]}" || fail "VM $1 died: $(cat "$SDIR/vm-$1.out")"
        [[ -s $SDIR/vm-$1.ready ]]
}

vm_stop() { # NAME
        local pid=${vm_pid[$1]-} rc=0
        [[ -n $pid ]] || fail "line $lineno: no VM named $1"
        kill -TERM "$pid"
        wait "$pid" || rc=$?
        unset "vm_pid[$1]"
        ((rc == 0)) || fail "VM $1 exited with status $rc"
}

stop_ours() {
        local rc=0
        kill -TERM "$ours_pid"
        wait "$ours_pid" || rc=$?
        ours_pid=
        ((rc == 0)) || fail "our daemon exited with status $rc on SIGTERM: $(tail -n 5 "$SDIR/ours.out")"
}

run_scenario() { # FILE
        local file=$1 line key
        local -a w
        declare -gA mem=([MemTotal]=0 [MemFree]=0 [MemAvailable]=0 [Buffers]=0 [Cached]=0 [SwapCached]=0)
        conf_lines=() settings_lines=() conf_noeol=0 lineno=0
        mkdir -p "$SDIR/proc"
        write_meminfo
        trap scenario_cleanup EXIT

        while IFS= read -r line || [[ -n $line ]]; do
                lineno=$((lineno + 1))
                case $line in
                conf | 'conf '* | conf-noeol | settings | 'settings '*) # then on to the next match
                        [[ -z $stock_pid ]] || fail "line $lineno: config after the first cycle"
                        ;;&
                conf) conf_lines+=("") ;;
                'conf '*) conf_lines+=("${line#conf }") ;;
                conf-noeol) conf_noeol=1 ;;
                settings) settings_lines+=("") ;;
                'settings '*) settings_lines+=("${line#settings }") ;;
                *)
                        read -r -a w <<<"$line"
                        case ${w[0]-#} in
                        '#'*) ;;
                        meminfo)
                                for key in "${w[@]:1}"; do
                                        [[ $key =~ ^([A-Za-z]+)=([0-9]+)$ && -n ${mem[${BASH_REMATCH[1]}]-} ]] ||
                                                fail "line $lineno: bad meminfo value '$key'"
                                        mem[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
                                done
                                write_meminfo
                                ;;
                        cycle) do_cycle "${w[@]:1}" ;;
                        vm)
                                case "${w[1]-} ${#w[@]}" in
                                'start 4' | 'start 5') vm_start "${w[@]:2}" ;;
                                'stop 3') vm_stop "${w[2]}" ;;
                                *) fail "line $lineno: usage: vm start NAME MIB [ARGV0] | vm stop NAME" ;;
                                esac
                                ;;
                        *) fail "line $lineno: unknown directive '${w[0]}'" ;;
                        esac
                        ;;
                esac
        done <"$file"

        ((cycles > 0)) || fail "scenario has no cycle"
        [[ -z $OURS_BIN ]] || stop_ours
        if [[ -s $SDIR/stock.out ]]; then
                echo "note: the oracle printed:"
                sed 's/^/  /' "$SDIR/stock.out"
        fi
        if [[ -n $OURS_BIN ]] && ! cmp -s "$SDIR/stock.trace" "$SDIR/ours.trace"; then
                echo "trace mismatch (first line: before the first cycle):"
                diff -u --label stock --label ours "$SDIR/stock.trace" "$SDIR/ours.trace" || true
                if grep -Eq '=( |$)' "$SDIR/ours.trace"; then
                        echo "(an empty value is a knob read mid-write: our daemon logged its"
                        echo " 'decision: ' line before it had finished writing the knobs)"
                fi
                echo "our log (last 20 lines):"
                tail -n 20 "$SDIR/ours.log" 2>/dev/null | sed 's/^/  /' || true
                errors=$((errors + 1))
        fi
        ((errors == 0))
}

if [[ ${1-} == __scenario ]]; then
        trap 'exit 143' TERM # so that the EXIT trap cleans up
        trap 'exit 130' INT
        run_scenario "$2"
        exit
fi

# ------------------------------------------------------------------------ main

skip() {
        echo "SKIP: $*"
        exit "$SKIP"
}

is_scenario() { [[ $1 == *.scn || -f $here/scenarios/$1.scn ]]; }

OURS_BIN=${KSMTUNED_BIN-}
if [[ ${1-} == --stock-only ]]; then
        OURS_BIN=
        shift
elif (($#)) && ! is_scenario "$1"; then
        OURS_BIN=$1
        shift
elif [[ -z $OURS_BIN ]]; then
        echo "usage: $0 [KSMTUNED_BIN | --stock-only] [SCENARIO...]" >&2
        exit 2
fi

if [[ -n $OURS_BIN ]]; then
        [[ -f $OURS_BIN && -x $OURS_BIN ]] || { echo "error: $OURS_BIN is not an executable" >&2; exit 2; }
        OURS_BIN=$(realpath "$OURS_BIN")
fi

scenarios=()
if (($#)); then
        for s in "$@"; do
                [[ $s == */* || -f $s ]] || s="$here/scenarios/${s%.scn}.scn"
                [[ -f $s ]] || { echo "error: no scenario $s" >&2; exit 2; }
                scenarios+=("$(realpath "$s")")
        done
else
        scenarios=("$here"/scenarios/*.scn)
fi

[[ $(id -u) == 0 ]] || skip "needs root (mount namespaces and bind mounts over /proc and /sys)"
unshare -m --propagation private true 2>/dev/null || skip "unshare -m does not work here"
for tool in pgrep ps awk dpkg mount; do
        command -v "$tool" >/dev/null || skip "$tool is missing"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ksmtuned-diff.XXXXXX")
[[ $WORK != *[[:space:]]* ]] || { rm -rf "$WORK"; skip "TMPDIR contains whitespace"; }
child=
main_cleanup() {
        trap '' INT TERM
        # The scenario runs in the background (so it ignores SIGINT): stop it
        # with SIGTERM, its own trap ends its VMs and engines.
        if [[ -n $child ]]; then
                kill -TERM "$child" 2>/dev/null || true
                wait "$child" 2>/dev/null || true
        fi
        rm -rf "$WORK"
}
trap main_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The oracle: Debian's package, downloaded once into the cache.
cache=${KSMTUNED_STOCK_CACHE:-${TMPDIR:-/tmp}/ksmtuned-stock-cache}
mkdir -p "$cache"
deb=$(find "$cache" -maxdepth 1 -name 'ksmtuned_*.deb' | sort | tail -n 1)
if [[ -z $deb ]]; then
        if ! (cd "$cache" && apt-get -q download ksmtuned) >"$WORK/apt.log" 2>&1; then
                sed 's/^/  /' "$WORK/apt.log"
                skip "cannot download Debian's ksmtuned package (apt-get download ksmtuned) and no copy is cached in $cache"
        fi
        deb=$(find "$cache" -maxdepth 1 -name 'ksmtuned_*.deb' | sort | tail -n 1)
        [[ -n $deb ]] || skip "apt-get download left no ksmtuned_*.deb in $cache"
fi
dpkg -x "$deb" "$WORK/stock" || skip "cannot unpack $deb"
STOCK_SCRIPT=$WORK/stock/usr/sbin/ksmtuned
[[ -f $STOCK_SCRIPT ]] || skip "$deb has no usr/sbin/ksmtuned"
echo "# oracle: ${deb##*/}; ours: ${OURS_BIN:-(none, --stock-only)}"

FAKE_VM=${FAKE_VM_BIN-}
if [[ -z $FAKE_VM ]]; then
        FAKE_VM=$WORK/fake_vm
        "${CC:-cc}" -std=gnu11 -O2 -o "$FAKE_VM" "$here/../helpers/fake_vm.c" ||
                { echo "error: cannot build fake_vm; set FAKE_VM_BIN" >&2; exit 1; }
fi
[[ -x $FAKE_VM ]] || { echo "error: $FAKE_VM is not an executable" >&2; exit 2; }
FAKE_VM=$(realpath "$FAKE_VM")
export STOCK_SCRIPT FAKE_VM OURS_BIN

passed=0 failed=0 skipped=0
for scn in "${scenarios[@]}"; do
        name=$(basename "$scn" .scn)
        SDIR=$WORK/$name
        mkdir -p "$SDIR"
        rc=0
        SDIR=$SDIR bash "$here/${BASH_SOURCE[0]##*/}" __scenario "$scn" >"$WORK/$name.result" 2>&1 &
        child=$!
        wait "$child" || rc=$?
        child=
        case $rc in
        0) echo "ok $name" && passed=$((passed + 1)) ;;
        "$SKIP") echo "skip $name" && skipped=$((skipped + 1)) ;;
        *)
                echo "FAIL $name"
                sed 's/^/    /' "$WORK/$name.result"
                failed=$((failed + 1))
                ;;
        esac
done

summary="$passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
echo "$summary"
((failed == 0))

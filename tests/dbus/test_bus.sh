#!/bin/bash
# The org.ksmtuned1 D-Bus interface end to end: the real daemon, run against
# temporary sysfs and proc trees, on a private system-like bus (bus.sh) with
# the shipped policy (and a permissive one, to prove the daemon's own access
# check), driven with busctl, gdbus, the example client and signals.
#
# Usage: test_bus.sh KSMTUNED_BIN FAKE_VM_BIN EXAMPLE_BIN [INHIBIT_HOLD_BIN]
# Needs root (it adds a system user "ksmt-test-user" and the group
# "ksmtuned" when missing, and removes what it added). Exit 77 when skipped.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/testlib.sh"
. "$HERE/bus.sh"

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (test user and group, knobs of a fake tree owned by root)"
        exit 77
fi
for tool in dbus-daemon busctl gdbus runuser useradd groupadd gpasswd python3; do
        if ! command -v "$tool" > /dev/null; then
                echo "SKIP: $tool is not installed"
                exit 77
        fi
done
if [ $# -lt 3 ] || [ ! -x "$1" ] || [ ! -x "$2" ] || [ ! -x "$3" ]; then
        echo "SKIP: binaries not built (usage: $0 KSMTUNED FAKE_VM EXAMPLE [INHIBIT_HOLD])"
        exit 77
fi
KSMTUNED=$(realpath "$1")
FAKE_VM=$(realpath "$2")
EXAMPLE=$(realpath "$3")
HOLD=""
[ -n "${4:-}" ] && [ -x "$4" ] && HOLD=$(realpath "$4")

WORK=$(mktemp -d /tmp/ksmtuned-dbus.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TEST_USER=ksmt-test-user
GROUP=ksmtuned
CREATED_USER=0
CREATED_GROUP=0
ADDED_TO_GROUP=0

cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null; done
        bus_stop
        wait 2> /dev/null
        [ "$ADDED_TO_GROUP" = 1 ] && gpasswd -d "$TEST_USER" "$GROUP" > /dev/null 2>&1
        [ "$CREATED_USER" = 1 ] && userdel "$TEST_USER" > /dev/null 2>&1
        [ "$CREATED_GROUP" = 1 ] && groupdel "$GROUP" > /dev/null 2>&1
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The group exists before any daemon starts, as a package would create it;
# the test user is not in it until the section that adds it.
if ! getent group "$GROUP" > /dev/null; then
        groupadd --system "$GROUP" && CREATED_GROUP=1
fi
if ! id "$TEST_USER" > /dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER" && CREATED_USER=1
fi
if id -nG "$TEST_USER" 2> /dev/null | tr ' ' '\n' | grep -x "$GROUP" > /dev/null; then
        gpasswd -d "$TEST_USER" "$GROUP" > /dev/null
fi

ln -s "$FAKE_VM" "$WORK/qemu-system-x86_64"
TAG="ksmt-dbus-$$"
PAGE=$(getconf PAGESIZE)

DEST=org.ksmtuned1
OBJ=/org/ksmtuned1
MGR=org.ksmtuned1.Manager

# ---------------------------------------------------------------------------
# Helpers

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_ms MILLISECONDS COMMAND...: like wait_for, with a finer deadline.
wait_ms() {
        local deadline=$(($(now_ms) + $1))
        shift
        while ! "$@"; do
                [ "$(now_ms)" -ge "$deadline" ] && return 1
                sleep 0.02
        done
}

# bctl [OPTIONS] VERB ARGS...: busctl on the system bus; "--" after the verb
# so that negative numbers are arguments, not options.
bctl() {
        local opts=()
        while [[ ${1:-} == -* ]]; do
                opts+=("$1")
                shift
        done
        busctl --system --timeout=10 "${opts[@]}" "$1" -- "${@:2}" < /dev/null
}
# as_user COMMAND...: run as the unprivileged test user.
as_user() { runuser -u "$TEST_USER" -- "$@"; }

# prop NAME: "TYPE VALUE" as busctl prints it; pval NAME: the value alone,
# a string without its quotes.
prop() { bctl get-property "$DEST" "$OBJ" "$MGR" "$1" 2>&1; }
pval() { prop "$1" | cut -d' ' -f2- | sed 's/^"\(.*\)"$/\1/'; }
ptype() { prop "$1" | cut -d' ' -f1; }
gprop() { bctl get-property "$DEST" "$1" org.ksmtuned1.Guest "$2" 2>&1 | cut -d' ' -f2- | sed 's/^"\(.*\)"$/\1/'; }

# gcall METHOD ARGS...: a Manager method through gdbus, which prints the
# D-Bus error name ("GDBus.Error:NAME: message") where busctl prints only
# the message.
gcall() {
        local method=$1
        shift
        gdbus call --system --timeout 10 --dest "$DEST" --object-path "$OBJ" \
                --method "$MGR.$method" "$@" 2>&1 < /dev/null
}
# err_name OUTPUT: the D-Bus error name in gdbus output, or "none".
err_name() {
        local n
        n=$(sed -n 's/.*GDBus\.Error:\([^: ]*\): .*/\1/p' <<< "$1" | head -1)
        echo "${n:-none}"
}
err_msg() { sed -n 's/.*GDBus\.Error:[^: ]*: //p' <<< "$1" | head -1; }

# pyj EXPR: evaluates EXPR over the JSON document d read from stdin.
pyj() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

inhibitors_count() { bctl --json=short call "$DEST" "$OBJ" "$MGR" ListInhibitors | pyj 'print(len(d["data"][0]))'; }
# State follows holds within a second (it may trail Inhibited a little).
state_is() { [ "$(pval State)" = "$1" ]; }
state_not() { [ "$(pval State)" != "$1" ]; }
no_inhibitors() { [ "$(inhibitors_count)" = 0 ]; }
has_inhibitors() { [ "$(inhibitors_count)" -ge "${1:-1}" ]; }

# sd_bus_path_encode("/org/ksmtuned1/guest", ID): every byte but [A-Za-z0-9]
# (and a leading digit) becomes _XX, lower-case hex; "" becomes "_".
guest_path() {
        local s=$1 out="" i c
        if [ -z "$s" ]; then
                echo "/org/ksmtuned1/guest/_"
                return
        fi
        for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                if [[ $c == [A-Za-z] ]] || { [[ $c == [0-9] ]] && [ "$i" -gt 0 ]; }; then
                        out+=$c
                else
                        out+=$(printf '_%02x' "'$c")
                fi
        done
        echo "/org/ksmtuned1/guest/$out"
}
managed_paths() {
        bctl --json=short call "$DEST" "$OBJ" org.freedesktop.DBus.ObjectManager GetManagedObjects |
                pyj 'print("\n".join(sorted(d["data"][0].keys())))'
}
# (grep reads all: with pipefail an early exit would fail the writer.)
has_object() { managed_paths | grep -x "$1" > /dev/null; }
lacks_object() { ! has_object "$1"; }

# new_tree NAME: fake sysfs (every knob and counter ksmtuned reads) and proc.
new_tree() {
        T="$WORK/$1"
        mkdir -p "$T/sys" "$T/proc"
        chmod 755 "$T"
        local f
        for f in run:0 pages_to_scan:100 sleep_millisecs:20 pages_shared:1000 pages_sharing:25600 \
                pages_unshared:3000 pages_volatile:400 full_scans:7 ksm_zero_pages:512 \
                general_profit:-123456 merge_across_nodes:1 use_zero_pages:0 max_page_sharing:256; do
                echo "${f#*:}" > "$T/sys/${f%%:*}"
        done
        : > "$T/log"
        printf 'KSM_MONITOR_INTERVAL=3600\nDEBUG=1\nLOGFILE=%s/log\n' "$T" > "$T/conf"
}

# write_settings [DBUS_OVERRIDES]: the libconfig settings file, dbus group on.
write_settings() {
        cat > "$T/settings.cfg" <<EOF
vm_match = { comm = []; cmdline = ["^qemu-system.*-enable-kvm.* -sandbox $TAG"]; };
dbus = { enabled = true; group = "$GROUP"; inhibit_max_sec = ${INHIBIT_MAX:-600};
         saturate_cycles = ${SATURATE:-3}; critical_percent = 5; };
EOF
}

knobs() { echo "run=$(cat "$T/sys/run") pages_to_scan=$(cat "$T/sys/pages_to_scan") sleep_millisecs=$(cat "$T/sys/sleep_millisecs")"; }

start_daemon() {
        "$KSMTUNED" --foreground --config "$T/conf" --settings "$T/settings.cfg" \
                --sysfs-dir "$T/sys" --proc-dir "$T/proc" 2> "$T/stderr" &
        DAEMON=$!
        PIDS+=("$DAEMON")
        wait_for 10 signals_blocked "$DAEMON"
}
signals_blocked() {
        local mask
        mask=$(awk '/^SigBlk:/ {print $2}' "/proc/$1/status" 2> /dev/null) || return 1
        [ -n "$mask" ] && (((16#$mask & 0x200) != 0))
}
stop_daemon() {
        kill -TERM "$DAEMON" 2> /dev/null
        wait "$DAEMON" 2> /dev/null
}
alive() { kill -0 "$DAEMON" 2> /dev/null && bus_has_name "$DEST"; }

decisions() { count_lines "$T/log" "decision: "; }
has_decisions() { [ "$(decisions)" -ge "$1" ]; }
# cycle: one SIGUSR1, wait until its decision is logged.
cycle() {
        local before
        before=$(decisions)
        kill -USR1 "$DAEMON"
        wait_for 10 has_decisions $((before + 1)) || echo "  (no decision logged)" >&2
}

start_vm() {
        local ready="$WORK/ready.$RANDOM$RANDOM"
        FAKE_VM_READY=$ready bash -c 'exec -a qemu-system-x86_64 "$@"' x "$WORK/qemu-system-x86_64" \
                -enable-kvm "$@" -sandbox "$TAG" &
        VM=$!
        PIDS+=("$VM")
        wait_for 10 test -s "$ready"
}

# Starts the example client in the background; its output goes to $1.
start_example() {
        local out=$1
        shift
        "$EXAMPLE" "$@" > "$out" 2>&1 &
        EX=$!
        PIDS+=("$EX")
}

MANAGER_PROPS="Version:s KernelFeatures:as PageSize:t InhibitMaxUSec:t Mode:s State:s Pressure:s
Run:u PagesToScan:u SleepMillisecs:u Tunables:a{sv} Inhibited:s PagesShared:t PagesSharing:t
PagesUnshared:t PagesVolatile:t FullScans:t ZeroPages:t GeneralProfit:x SharedBytes:t SavedBytes:t
MemTotal:t MemAvailable:t Free:t Committed:t KsmdCpuPercent:d"
CONST_PROPS="Version KernelFeatures PageSize"
# InhibitMaxUSec follows dbus.inhibit_max_sec, which a SIGHUP reload may change.
CHANGING_PROPS="Mode State Pressure Run PagesToScan SleepMillisecs Tunables Inhibited InhibitMaxUSec"
LIVE_PROPS="PagesShared PagesSharing PagesUnshared PagesVolatile FullScans ZeroPages GeneralProfit
SharedBytes SavedBytes MemTotal MemAvailable Free Committed KsmdCpuPercent"
STAT_KEYS="timestamp-usec:t run:u pages-to-scan:u sleep-millisecs:u pages-shared:t pages-sharing:t
pages-unshared:t pages-volatile:t full-scans:t zero-pages:t general-profit:x shared-bytes:t
saved-bytes:t saved-bytes-rate:t mem-total:t mem-available:t free:t committed:t vms:u state:s
pressure:s mode:s ksmd-cpu-percent:d"

# tunable KEY: its value in the Tunables property.
tunable() {
        bctl --json=short get-property "$DEST" "$OBJ" "$MGR" Tunables |
                pyj "v=d['data'].get('$1'); print(v['data'] if v else 'absent')"
}
tunables_all() {
        bctl --json=short get-property "$DEST" "$OBJ" "$MGR" Tunables |
                pyj 'print(" ".join("%s=%s:%s" % (k, v["type"], v["data"]) for k, v in sorted(d["data"].items())))'
}

# ===========================================================================
bus_start "$WORK/bus" shipped || {
        echo "FAIL: cannot start a private dbus-daemon"
        echo "0 passed, 1 failed"
        exit 1
}

t_begin "example client: bad usage exits 2; D-Bus errors exit 1 with the error name"
for args in "--need" "--need lots" "--need 0" "--need 1X" "--watch -1" "--bogus" "stray" "--guest="; do
        # shellcheck disable=SC2086
        "$EXAMPLE" $args > "$WORK/ex.out" 2>&1
        check_eq "'$args'" 2 $?
done
"$EXAMPLE" --help > "$WORK/ex.out" 2>&1
check_eq "--help" 0 $?
out=$("$EXAMPLE" 2>&1)
check_eq "no daemon on the bus: exit status" 1 $?
check "no daemon: error name printed (got: $out)" grep -q "^error: GetAll: org.freedesktop.DBus.Error.ServiceUnknown: " <<< "$out"
out=$(DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/absent/socket" "$EXAMPLE" 2>&1)
check_eq "no bus: exit status" 1 $?
check "no bus: says so (got: $out)" grep -q "^error: " <<< "$out"
t_end

# ---------------------------------------------------------------------------
# The main daemon: 8 GiB host, free memory short (105000 kB < threshold
# 1677721 kB), MemAvailable 1000000 kB (11.9 %, not critical).
new_tree main
write_settings
write_meminfo "$T/proc/meminfo" 8388608 100000 2000 3000 1000000
gdbus monitor --system --dest "$DEST" > "$T/gdbus.mon" 2>&1 &
PIDS+=($!)

t_begin "the daemon owns org.ksmtuned1 on the system bus"
start_daemon
check "name acquired" wait_for 10 bus_has_name "$DEST"
intro=$(bctl -l introspect "$DEST" "$OBJ" 2>&1)
check "Manager interface" grep -q "^org.ksmtuned1.Manager " <<< "$intro"
check "ObjectManager interface" grep -q "^org.freedesktop.DBus.ObjectManager " <<< "$intro"
# member NAME KIND [SIGNATURE [RESULT]]: the introspect line of .NAME, as
# busctl prints it: NAME KIND SIGNATURE RESULT/VALUE... FLAGS
member() { awk -v n=".$1" '$1 == n' <<< "$intro"; }
has_member() {
        local line
        line=$(member "$1")
        [ -n "$line" ] && awk -v k="$2" -v s="${3:-}" -v r="${4:-}" \
                '$2 == k && (s == "" || $3 == s) && (r == "" || $4 == r) {ok = 1} END {exit !ok}' <<< "$line"
}
for m in "GetStatistics - a{sv}" "Retune - -" "SetTunables a{sv} -" "NotifyBalloon sttu -" \
        "Assess ta{sv} a{sv}" "Inhibit sss h" "ListInhibitors - a(sssuut)"; do
        read -r name in out <<< "$m"
        check "method $name($in) -> $out (got: $(member "$name"))" has_member "$name" method "$in" "$out"
done
check "signal BalloonAdvised(tut) (got: $(member BalloonAdvised))" has_member BalloonAdvised signal tut
for p in $MANAGER_PROPS; do
        check "property ${p%%:*} has type ${p#*:} (got: $(member "${p%%:*}"))" has_member "${p%%:*}" property "${p#*:}"
done
for p in $CONST_PROPS; do
        check "$p is const (got: $(member "$p"))" bash -c '[[ "$1" == *" const" ]]' _ "$(member "$p")"
done
for p in $CHANGING_PROPS; do
        check "$p emits PropertiesChanged (got: $(member "$p"))" bash -c '[[ "$1" == *" emits-change"* ]]' _ "$(member "$p")"
done
for p in $LIVE_PROPS; do
        check "$p has EmitsChangedSignal=false (got: $(member "$p"))" bash -c '[[ "$1" == *" -" && "$1" != *emits-* ]]' _ "$(member "$p")"
done
t_end

t_begin "every Manager property is readable and equals sysfs and meminfo"
cycle
for p in $MANAGER_PROPS; do
        check_eq "type of $p" "${p#*:}" "$(ptype "${p%%:*}")"
done
check_eq "Version" "$("$KSMTUNED" --version | grep -o '[0-9][0-9.]*' | head -1)" "$(pval Version)"
check_eq "PageSize" "$PAGE" "$(pval PageSize)"
check_eq "InhibitMaxUSec (inhibit_max_sec = 600)" 600000000 "$(pval InhibitMaxUSec)"
check_eq "PagesShared" 1000 "$(pval PagesShared)"
check_eq "PagesSharing" 25600 "$(pval PagesSharing)"
check_eq "PagesUnshared" 3000 "$(pval PagesUnshared)"
check_eq "PagesVolatile" 400 "$(pval PagesVolatile)"
check_eq "FullScans" 7 "$(pval FullScans)"
check_eq "ZeroPages" 512 "$(pval ZeroPages)"
check_eq "GeneralProfit (negative)" -123456 "$(pval GeneralProfit)"
check_eq "SharedBytes = pages_sharing x PageSize" $((25600 * PAGE)) "$(pval SharedBytes)"
check_eq "SavedBytes = (pages_sharing + ksm_zero_pages) x PageSize" $(((25600 + 512) * PAGE)) "$(pval SavedBytes)"
check_eq "MemTotal in bytes" $((8388608 * 1024)) "$(pval MemTotal)"
check_eq "MemAvailable in bytes" $((1000000 * 1024)) "$(pval MemAvailable)"
check_eq "Free = MemFree + Buffers + Cached, in bytes" $((105000 * 1024)) "$(pval Free)"
check_eq "Committed (no VMs)" 0 "$(pval Committed)"
check_eq "Run equals sysfs" "$(cat "$T/sys/run")" "$(pval Run)"
check_eq "PagesToScan equals sysfs" "$(cat "$T/sys/pages_to_scan")" "$(pval PagesToScan)"
check_eq "SleepMillisecs equals sysfs" "$(cat "$T/sys/sleep_millisecs")" "$(pval SleepMillisecs)"
check_eq "the cycle wrote the boost" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
check_eq "State after a boost cycle" merging "$(pval State)"
check_eq "Pressure with free < threshold" low "$(pval Pressure)"
check_eq "Inhibited with no holds" "" "$(pval Inhibited)"
check "Mode is a non-empty string" test -n "$(pval Mode)"
check "KsmdCpuPercent is a number >= 0" python3 -c "import sys; sys.exit(0 if float('$(pval KsmdCpuPercent)') >= 0 else 1)"
check_eq "Tunables" "monitor-interval-sec=x:3600 npages-boost=x:300 npages-decay=x:-50 npages-max=x:1250 npages-min=x:64 sleep-msec=x:10 thres-coef=x:20 thres-const-kib=x:2048" "$(tunables_all)"
# Counters are read on each Get, not cached from the last cycle.
echo 51200 > "$T/sys/pages_sharing"
echo 1024 > "$T/sys/ksm_zero_pages"
echo -999999999999 > "$T/sys/general_profit"
check_eq "SharedBytes read live" $((51200 * PAGE)) "$(pval SharedBytes)"
check_eq "SavedBytes read live" $(((51200 + 1024) * PAGE)) "$(pval SavedBytes)"
check_eq "GeneralProfit read live, below -2^31" -999999999999 "$(pval GeneralProfit)"
all=$(bctl --json=short call "$DEST" "$OBJ" org.freedesktop.DBus.Properties GetAll s "$MGR" 2>&1)
for p in $MANAGER_PROPS; do
        check "GetAll has ${p%%:*}" pyj "sys.exit(0 if '${p%%:*}' in d['data'][0] else 1)" <<< "$all"
done
t_end

t_begin "GetStatistics: every key with its type, consistent with sysfs"
stats=$(bctl --json=short call "$DEST" "$OBJ" "$MGR" GetStatistics 2>&1)
for k in $STAT_KEYS; do
        check_eq "type of ${k%%:*}" "${k#*:}" "$(pyj "v=d['data'][0].get('${k%%:*}'); print(v['type'] if v else 'absent')" <<< "$stats")"
done
sv() { pyj "print(d['data'][0]['$1']['data'])" <<< "$stats" 2> /dev/null; }
check_eq "pages-sharing" 51200 "$(sv pages-sharing)"
check_eq "shared-bytes" $((51200 * PAGE)) "$(sv shared-bytes)"
check_eq "saved-bytes" $(((51200 + 1024) * PAGE)) "$(sv saved-bytes)"
check_eq "general-profit" -999999999999 "$(sv general-profit)"
check_eq "mem-total" $((8388608 * 1024)) "$(sv mem-total)"
check_eq "mem-available" $((1000000 * 1024)) "$(sv mem-available)"
check_eq "free" $((105000 * 1024)) "$(sv free)"
check_eq "committed" 0 "$(sv committed)"
check_eq "vms" 0 "$(sv vms)"
check_eq "run" 1 "$(sv run)"
check_eq "pages-to-scan" 300 "$(sv pages-to-scan)"
check_eq "state" merging "$(sv state)"
check_eq "mode equals Mode" "$(pval Mode)" "$(sv mode)"
ts=$(sv timestamp-usec)
now_us=$(($(date +%s%N) / 1000))
check "timestamp-usec is realtime, within 60 s of now" test "${ts:-0}" -gt $((now_us - 60000000)) -a "${ts:-0}" -le $((now_us + 1000000))
t_end

t_begin "PropertiesChanged on a knob change (SIGUSR1 and Retune)"
start_example "$T/watch.out" --watch 100
WATCHER=$EX
check "example client watching" wait_for 10 grep -q "^watch: " "$T/watch.out"
check "example printed the properties" grep -q "^property: PagesToScan=300$" "$T/watch.out"
cycle
check_eq "knobs" "run=1 pages_to_scan=600 sleep_millisecs=20" "$(knobs)"
check "PropertiesChanged PagesToScan=600 (example)" wait_for 5 grep -q "^signal: PropertiesChanged.* PagesToScan=600" "$T/watch.out"
check "PropertiesChanged PagesToScan 600 (gdbus monitor)" wait_for 5 grep -q "PropertiesChanged ('org.ksmtuned1.Manager', {.*'PagesToScan': <uint32 600>" "$T/gdbus.mon"
before=$(decisions)
out=$(bctl call "$DEST" "$OBJ" "$MGR" Retune 2>&1)
check_eq "Retune answers" "" "$out"
check "Retune runs a cycle within 1 s" wait_ms 1000 has_decisions $((before + 1))
check_eq "knobs after Retune" "run=1 pages_to_scan=900 sleep_millisecs=20" "$(knobs)"
check "PropertiesChanged PagesToScan=900" wait_for 5 grep -q "^signal: PropertiesChanged.* PagesToScan=900" "$T/watch.out"
check "no PropertiesChanged for an EmitsChangedSignal=false property" bash -c "! grep -Eq 'PropertiesChanged.* (SharedBytes|SavedBytes|PagesSharing|MemAvailable|Free|Committed)=' '$T/watch.out'"
t_end

t_begin "Retune is rate-limited: a burst within 1 s is one retune"
sleep 1.2
before=$(decisions)
for _ in 1 2 3 4 5 6; do bctl call "$DEST" "$OBJ" "$MGR" Retune > /dev/null 2>&1; done
sleep 1.5
n=$(($(decisions) - before))
check "6 calls in a burst: at least one retune (got $n)" test "$n" -ge 1
check "6 calls in a burst: coalesced (got $n retunes)" test "$n" -le 2
sleep 1.2
before=$(decisions)
bctl call "$DEST" "$OBJ" "$MGR" Retune > /dev/null 2>&1
check "a later Retune still retunes" wait_ms 1500 has_decisions $((before + 1))
t_end

t_begin "SetTunables: valid values apply, Tunables changes, the next cycle uses them"
out=$(bctl call "$DEST" "$OBJ" "$MGR" SetTunables "a{sv}" 2 npages-boost x 100 npages-max x 5000 2>&1)
check_eq "call answers" "" "$out"
check_eq "npages-boost" 100 "$(tunable npages-boost)"
check_eq "npages-max" 5000 "$(tunable npages-max)"
check "PropertiesChanged for Tunables" wait_for 5 grep -q "^signal: PropertiesChanged.* Tunables=.*npages-boost=100" "$T/watch.out"
p0=$(cat "$T/sys/pages_to_scan")
cycle
check_eq "next cycle adds the new boost" $((p0 + 100)) "$(cat "$T/sys/pages_to_scan")"
# Any integer type is accepted.
for tv in "y 21" "n 22" "q 23" "i 24" "u 25" "t 26" "x 27"; do
        out=$(bctl call "$DEST" "$OBJ" "$MGR" SetTunables "a{sv}" 1 thres-coef $tv 2>&1)
        check_eq "thres-coef as '${tv% *}' accepted" "" "$out"
        check_eq "thres-coef as '${tv% *}' applied" "${tv#* }" "$(tunable thres-coef)"
done
out=$(bctl call "$DEST" "$OBJ" "$MGR" SetTunables "a{sv}" 1 npages-decay i -70 2>&1)
check_eq "negative npages-decay as int32" "-70" "$(tunable npages-decay)"
# monitor-interval-sec takes effect: the timer now fires every second.
before=$(decisions)
bctl call "$DEST" "$OBJ" "$MGR" SetTunables "a{sv}" 1 monitor-interval-sec x 1 > /dev/null 2>&1
check_eq "monitor-interval-sec" 1 "$(tunable monitor-interval-sec)"
check "cycles every second without a signal" wait_for 5 has_decisions $((before + 2))
bctl call "$DEST" "$OBJ" "$MGR" SetTunables "a{sv}" 4 monitor-interval-sec x 3600 thres-coef x 20 \
        npages-boost x 300 npages-decay x -50 > /dev/null 2>&1
sleep 1.3
before=$(decisions)
sleep 2.2
check_eq "back to 3600 s: no more timer cycles" "$before" "$(decisions)"
check_eq "Tunables restored" "monitor-interval-sec=x:3600 npages-boost=x:300 npages-decay=x:-50 npages-max=x:5000 npages-min=x:64 sleep-msec=x:10 thres-coef=x:20 thres-const-kib=x:2048" "$(tunables_all)"
t_end

t_begin "SetTunables: every invalid call is InvalidTunable naming the key, and changes nothing"
snapshot=$(tunables_all)
while IFS='|' read -r key arg; do
        out=$(gcall SetTunables "$arg")
        check_eq "$arg: error" org.ksmtuned1.InvalidTunable "$(err_name "$out")"
        check "$arg: message names '$key' (got: $(err_msg "$out"))" grep -qF -- "$key" <<< "$(err_msg "$out")"
        check_eq "$arg: nothing changed" "$snapshot" "$(tunables_all)"
done <<'EOF'
bogus-key|{'bogus-key': <int64 1>}
npages-boost|{'npages-boost': <'100'>}
npages-boost|{'npages-boost': <1.5>}
npages-boost|{'npages-boost': <true>}
thres-coef|{'thres-coef': <int64 101>}
thres-coef|{'thres-coef': <int64 -1>}
monitor-interval-sec|{'monitor-interval-sec': <int64 0>}
monitor-interval-sec|{'monitor-interval-sec': <int64 -5>}
monitor-interval-sec|{'monitor-interval-sec': <uint64 18446744073709551615>}
npages-min|{'npages-min': <int64 -1>}
npages-max|{'npages-max': <uint64 4294967296>}
sleep-msec|{'sleep-msec': <int64 -1>}
thres-const-kib|{'thres-const-kib': <int64 1099511627777>}
npages-decay|{'npages-decay': <int64 -4294967296>}
thres-coef|{'npages-boost': <int64 77>, 'thres-coef': <int64 500>}
thres-coef|{'thres-coef': <int64 500>, 'npages-boost': <int64 77>}
no-such-key|{'npages-boost': <int64 77>, 'npages-min': <int64 10>, 'no-such-key': <int64 1>}
EOF
check "daemon alive" alive
t_end

t_begin "Inhibit: a bad 'what' is InvalidArgs; busctl's hold ends as busctl exits"
for what in "" bogus "merge:bogus" "retune:" "merge merge" "RETUNE"; do
        out=$(gcall Inhibit "'$what'" "'test'" "'bad what'")
        check_eq "what='$what'" org.freedesktop.DBus.Error.InvalidArgs "$(err_name "$out")"
done
check "no holds left" no_inhibitors
out=$(bctl call "$DEST" "$OBJ" "$MGR" Inhibit sss retune:merge test "short hold" 2>&1)
check "Inhibit(retune:merge) returns an fd (got: $out)" grep -q "^h [0-9]" <<< "$out"
check "the hold ended with busctl" wait_ms 2000 no_inhibitors
check_eq "Inhibited empty again" "" "$(pval Inhibited)"
t_end

t_begin "Inhibit merge: run=0 at once, kept through Retune and SIGUSR1; ListInhibitors"
cycle
check_eq "running before" 1 "$(cat "$T/sys/run")"
start_example "$T/migrate.out" --migrate --migrate-seconds 5 --guest guest1
MIGRATOR=$EX
check "hold taken" wait_for 10 grep -q "^inhibit: holding merge" "$T/migrate.out"
check_eq "run=0 written at once" 0 "$(cat "$T/sys/run")"
check_eq "Inhibited" merge "$(pval Inhibited)"
check_eq "State" held "$(pval State)"
check_eq "Run property" 0 "$(pval Run)"
list=$(bctl --json=short call "$DEST" "$OBJ" "$MGR" ListInhibitors 2>&1)
check_eq "one inhibitor" 1 "$(pyj 'print(len(d["data"][0]))' <<< "$list")"
check_eq "what, who, why, pid, uid" "merge|balloon-example|migration of guest1|$MIGRATOR|0" \
        "$(pyj 'print("|".join(str(x) for x in d["data"][0][0][:5]))' <<< "$list" 2>&1)"
since=$(pyj 'print(d["data"][0][0][5])' <<< "$list" 2> /dev/null)
now_us=$(($(date +%s%N) / 1000))
check "since_usec is realtime, recent" test "${since:-0}" -gt $((now_us - 30000000)) -a "${since:-0}" -le "$now_us"
out=$(gcall Retune)
check_eq "Retune while held" org.ksmtuned1.Inhibited "$(err_name "$out")"
kill -USR1 "$DAEMON"
sleep 0.6
check_eq "SIGUSR1 while held: run stays 0" 0 "$(cat "$T/sys/run")"
check "PropertiesChanged Inhibited=merge" grep -q "^signal: PropertiesChanged.* Inhibited=merge" "$T/watch.out"
check "the example ends its hold" wait_for 10 grep -q "^inhibit: released" "$T/migrate.out"
wait "$MIGRATOR"
check_eq "example exit status" 0 $?
check "ListInhibitors empty after release" wait_ms 2000 no_inhibitors
check_eq "Inhibited empty after release" "" "$(pval Inhibited)"
check "State no longer held within 1 s (at first: $(pval State))" wait_ms 1000 state_not held
before=$(decisions)
out=$(gcall Retune)
check_eq "Retune allowed again" "()" "$out"
check "and retunes" wait_ms 1500 has_decisions $((before + 1))
check_eq "run=1 again" 1 "$(cat "$T/sys/run")"
t_end

t_begin "Inhibit merge: the hold ends when its holder is killed (kill -9)"
start_example "$T/migrate9.out" --migrate --migrate-seconds 60 --guest guest9
victim=$EX
check "hold taken" wait_for 10 grep -q "^inhibit: holding merge" "$T/migrate9.out"
check "listed while held" has_inhibitors 1
check_eq "run=0" 0 "$(cat "$T/sys/run")"
kill -KILL "$victim"
wait "$victim" 2> /dev/null
check "ListInhibitors empty within 2 s of the kill" wait_ms 2000 no_inhibitors
check_eq "Inhibited empty" "" "$(pval Inhibited)"
check "State no longer held within 1 s (at first: $(pval State))" wait_ms 1000 state_not held
check "daemon alive" alive
t_end

t_begin "Inhibit retune: cycles write nothing while held"
if [ -z "$HOLD" ]; then
        t_skip "Inhibit retune" "inhibit_hold helper not given"
else
        cycle
        frozen=$(knobs)
        "$HOLD" retune test "freeze knobs" 1 30 > "$T/hold.out" 2>&1 &
        holder=$!
        PIDS+=("$holder")
        check "hold taken" wait_for 10 grep -q "^ready" "$T/hold.out"
        check_eq "held 1" "held 1" "$(grep '^held' "$T/hold.out")"
        check_eq "Inhibited" retune "$(pval Inhibited)"
        check "State held within 1 s (at first: $(pval State))" wait_ms 1000 state_is held
        write_meminfo "$T/proc/meminfo" 8388608 6000000 0 0 6000000   # a cycle would stop KSM
        kill -USR1 "$DAEMON"
        sleep 0.6
        out=$(gcall Retune)
        check_eq "Retune while held" org.ksmtuned1.Inhibited "$(err_name "$out")"
        sleep 0.3
        check_eq "knobs frozen" "$frozen" "$(knobs)"
        kill -TERM "$holder"
        wait "$holder" 2> /dev/null
        check "released" wait_ms 2000 no_inhibitors
        cycle
        check_eq "after release the cycle writes again (stop)" 0 "$(cat "$T/sys/run")"
        write_meminfo "$T/proc/meminfo" 8388608 100000 2000 3000 1000000
        cycle
fi
t_end

# ---------------------------------------------------------------------------
t_begin "Guest objects appear with a VM; NotifyBalloon; the example client inflates"
UUID=12345678-1234-5678-1234-567812345678
start_vm -name guest1,debug-threads=on -uuid "$UUID" -m 16
VM1=$VM
start_vm -name guest=guest2,debug-threads=on -m 8
VM2=$VM
start_vm -m 8
VM3=$VM
cycle
P1=$(guest_path "$UUID")
P2=$(guest_path guest2)
P3=$(guest_path "pid$VM3")
check "uuid guest at $P1" wait_for 5 has_object "$P1"
check "name-only guest at $P2" has_object "$P2"
check "anonymous guest at $P3" has_object "$P3"
check_eq "Id (uuid)" "$UUID" "$(gprop "$P1" Id)"
check_eq "Name (before the first comma)" guest1 "$(gprop "$P1" Name)"
check_eq "Pid" "$VM1" "$(gprop "$P1" Pid)"
check_eq "Id (guest=NAME)" guest2 "$(gprop "$P2" Id)"
check_eq "Name (guest=NAME)" guest2 "$(gprop "$P2" Name)"
check_eq "Id (no uuid, no name)" "pid$VM3" "$(gprop "$P3" Id)"
rss=$(gprop "$P1" RssBytes)
check "RssBytes covers the 16 MiB touched (got $rss)" test "${rss:-0}" -ge $((16 << 20)) -a "${rss:-0}" -lt $((256 << 20))
mp=$(awk '$1 ~ /^ksm_merging_pages/ {print $2}' "/proc/$VM1/ksm_stat")
zp=$(awk '$1 ~ /^ksm_zero_pages/ {print $2}' "/proc/$VM1/ksm_stat")
pp=$(awk '$1 ~ /^ksm_process_profit/ {print $2}' "/proc/$VM1/ksm_stat")
check_eq "MergingPages from ksm_stat" "${mp:-0}" "$(gprop "$P1" MergingPages)"
check_eq "ZeroPages from ksm_stat" "${zp:-0}" "$(gprop "$P1" ZeroPages)"
check_eq "ProfitBytes from ksm_stat" "${pp:-0}" "$(bctl get-property "$DEST" "$P1" org.ksmtuned1.Guest ProfitBytes 2>&1 | cut -d' ' -f2)"
check_eq "ProfitBytes type" x "$(bctl get-property "$DEST" "$P1" org.ksmtuned1.Guest ProfitBytes 2>&1 | cut -d' ' -f1)"
check_eq "BalloonTargetBytes before any notify" 0 "$(gprop "$P1" BalloonTargetBytes)"
check "InterfacesAdded seen" wait_for 5 grep -q "InterfacesAdded (objectpath '$P1'" "$WORK/main/gdbus.mon"
c=$(pval Committed)
check "Committed counts the VMs, in bytes (got $c)" test "${c:-0}" -ge $((32 << 20))
check_eq "vms in GetStatistics" 3 "$(bctl --json=short call "$DEST" "$OBJ" "$MGR" GetStatistics | pyj "print(d['data'][0]['vms']['data'])")"
# NotifyBalloon by Id and by Name; it retunes within a second.
sleep 1.1
before=$(decisions)
t0=$(now_ms)
out=$(bctl call "$DEST" "$OBJ" "$MGR" NotifyBalloon sttu "$UUID" 3221225472 4294967296 0 2>&1)
check_eq "NotifyBalloon by Id" "" "$out"
check "a retune within 1 s" wait_ms 1000 has_decisions $((before + 1))
echo "  (NotifyBalloon -> decision in $(($(now_ms) - t0)) ms)"
check_eq "BalloonTargetBytes" 3221225472 "$(gprop "$P1" BalloonTargetBytes)"
check_eq "BalloonActualBytes" 4294967296 "$(gprop "$P1" BalloonActualBytes)"
out=$(bctl call "$DEST" "$OBJ" "$MGR" NotifyBalloon sttu guest2 100 200 0 2>&1)
check_eq "NotifyBalloon by Name" "" "$out"
check_eq "guest2 BalloonTargetBytes" 100 "$(gprop "$P2" BalloonTargetBytes)"
out=$(gcall NotifyBalloon "'no-such-guest'" 1 2 0)
check_eq "unknown guest" org.ksmtuned1.NoSuchGuest "$(err_name "$out")"
# A burst is coalesced.
sleep 1.1
before=$(decisions)
for i in 1 2 3 4 5 6 7 8 9 10; do
        bctl call "$DEST" "$OBJ" "$MGR" NotifyBalloon sttu guest1 $((i << 20)) $((i << 21)) 0 > /dev/null 2>&1
done
sleep 1.2
n=$(($(decisions) - before))
check "10 NotifyBalloon in a burst: retuned (got $n)" test "$n" -ge 1
check "10 NotifyBalloon in a burst: coalesced (got $n retunes)" test "$n" -le 3
check_eq "last values recorded" "$((10 << 20)) $((10 << 21))" "$(gprop "$P1" BalloonTargetBytes) $(gprop "$P1" BalloonActualBytes)"
# The example client: more than memory can give and no time to wait.
out=$("$EXAMPLE" --need 2G --max-wait 0 --guest guest1 --guest-memory 4G 2>&1)
rc=$?
check_eq "example exit status" 0 $rc
check "example: advice line" grep -Eq "^advice: recommend=(wait|balloon|none) eta-usec=[0-9]+ saved-bytes=[0-9]+ saved-bytes-rate=[0-9]+ state=[a-z]+ effort=[0-9]+ deficit-bytes=[0-9]+$" <<< "$out"
check "example: need 2G > MemAvailable, max-wait 0 => balloon (got: $(grep '^advice' <<< "$out"))" grep -q "^advice: recommend=balloon " <<< "$out"
check "example: would inflate" grep -Eq "^action: would inflate balloons by [0-9]+ bytes$" <<< "$out"
nt=$(sed -n 's/^notify: guest=guest1 target=\([0-9]*\) actual=\([0-9]*\)$/\1 \2/p' <<< "$out")
check "example: notify line" test -n "$nt"
check_eq "example's NotifyBalloon recorded on the guest" "$nt" "$(gprop "$P1" BalloonTargetBytes) $(gprop "$P1" BalloonActualBytes)"
t_end

t_begin "Assess: every key with its type"
res=$(bctl --json=short call "$DEST" "$OBJ" "$MGR" Assess "ta{sv}" 1073741824 1 max-wait-usec t 5000000 2>&1)
for k in recommend:s eta-usec:t saved-bytes:t saved-bytes-rate:t state:s effort:u deficit-bytes:t; do
        check_eq "type of ${k%%:*}" "${k#*:}" "$(pyj "v=d['data'][0].get('${k%%:*}'); print(v['type'] if v else 'absent')" <<< "$res")"
done
rec=$(pyj "print(d['data'][0]['recommend']['data'])" <<< "$res" 2> /dev/null)
check "recommend is wait|balloon|none (got $rec)" grep -Eqx "wait|balloon|none" <<< "$rec"
eff=$(pyj "print(d['data'][0]['effort']['data'])" <<< "$res" 2> /dev/null)
check "effort in 0..1000 (got $eff)" test "${eff:-9999}" -le 1000
check_eq "saved-bytes as SavedBytes" "$(pval SavedBytes)" "$(pyj "print(d['data'][0]['saved-bytes']['data'])" <<< "$res" 2> /dev/null)"
check_eq "state as State" "$(pval State)" "$(pyj "print(d['data'][0]['state']['data'])" <<< "$res" 2> /dev/null)"
out=$(bctl call "$DEST" "$OBJ" "$MGR" Assess "ta{sv}" 0 0 2>&1)
check "Assess(0, {}) answers" grep -q "^a{sv} " <<< "$out"
t_end

# ---------------------------------------------------------------------------
# Access control.
READ_CALLS=(
        "call $DEST $OBJ $MGR GetStatistics"
        "call $DEST $OBJ $MGR Assess ta{sv} 1048576 0"
        "call $DEST $OBJ $MGR ListInhibitors"
        "call $DEST $OBJ org.freedesktop.DBus.ObjectManager GetManagedObjects"
        "call $DEST $OBJ org.freedesktop.DBus.Properties GetAll s $MGR"
        "call $DEST $OBJ org.freedesktop.DBus.Introspectable Introspect"
        "call $DEST $P1 org.freedesktop.DBus.Properties GetAll s org.ksmtuned1.Guest"
)
# name|gdbus arguments
MUTATING=(
        "SetTunables|{'npages-boost': <int64 250>}"
        "Retune|"
        "NotifyBalloon|'guest1'|uint64 1024|uint64 2048|uint32 0"
        "Inhibit|'merge'|'intruder'|'no reason'"
)
# user_mutating WANT_ERROR CHECK_MESSAGE: every mutating method as the test
# user; WANT_ERROR "none" means allowed. CHECK_MESSAGE: bus | daemon | -.
user_mutating() {
        local want=$1 who=$2 spec name out msg args
        for spec in "${MUTATING[@]}"; do
                IFS='|' read -r -a args <<< "$spec"
                name=${args[0]}
                args=("${args[@]:1}")
                out=$(as_user gdbus call --system --timeout 10 --dest "$DEST" --object-path "$OBJ" \
                        --method "$MGR.$name" "${args[@]}" 2>&1)
                check_eq "$name as $TEST_USER" "$want" "$(err_name "$out")"
                msg=$(err_msg "$out")
                case "$who" in
                bus) check "$name refused by the bus policy (message: $msg)" grep -q "^Rejected send message" <<< "$msg" ;;
                daemon) check "$name refused by the daemon itself (message: $msg)" bash -c '! grep -q "^Rejected send message" <<< "$1"' _ "$msg" ;;
                esac
        done
}
user_reads() {
        local c p out
        for p in $MANAGER_PROPS; do
                out=$(as_user busctl --system --timeout=10 get-property "$DEST" "$OBJ" "$MGR" "${p%%:*}" 2>&1)
                check "read ${p%%:*} as $TEST_USER (got: $out)" grep -q "^${p#*:} " <<< "$out"
        done
        for c in "${READ_CALLS[@]}"; do
                # shellcheck disable=SC2086
                out=$(as_user busctl --system --timeout=10 $c 2>&1)
                check "$c as $TEST_USER (got: ${out:0:100})" test $? = 0
        done
        out=$(as_user "$EXAMPLE" --need 1M 2>&1)
        check "example client (GetAll, Assess) as $TEST_USER (got: ${out:0:200})" grep -q "^advice: " <<< "$out"
}

t_begin "unprivileged user, shipped policy: reads work, mutating calls refused by the bus"
snapshot=$(tunables_all)
before=$(decisions)
user_reads
user_mutating org.freedesktop.DBus.Error.AccessDenied bus
out=$(as_user "$EXAMPLE" --migrate --migrate-seconds 1 2>&1)
check_eq "example --migrate exit status" 1 $?
check "example prints the error name" grep -q "^error: Inhibit: org.freedesktop.DBus.Error.AccessDenied: " <<< "$out"
sleep 1.1
check_eq "Tunables unchanged" "$snapshot" "$(tunables_all)"
check_eq "no retune happened" "$before" "$(decisions)"
check "no holds" no_inhibitors
t_end

t_begin "unprivileged user, permissive policy: mutating calls refused by the daemon"
bus_set_policy permissive
snapshot=$(tunables_all)
before=$(decisions)
user_reads
user_mutating org.freedesktop.DBus.Error.AccessDenied daemon
out=$(as_user "$EXAMPLE" --migrate --migrate-seconds 1 2>&1)
check "example prints AccessDenied" grep -q "^error: Inhibit: org.freedesktop.DBus.Error.AccessDenied: " <<< "$out"
sleep 1.1
check_eq "Tunables unchanged" "$snapshot" "$(tunables_all)"
check_eq "no retune happened" "$before" "$(decisions)"
check "no holds" no_inhibitors
out=$(as_user gdbus call --system --dest "$DEST" --object-path "$OBJ" --method org.freedesktop.DBus.Properties.Set \
        "'$MGR'" "'Run'" "<uint32 2>" 2>&1)
check "Properties.Set refused (got $(err_name "$out"))" test "$(err_name "$out")" != none
check_eq "run untouched" 1 "$(cat "$T/sys/run")"
t_end

t_begin "member of the '$GROUP' group: mutating calls allowed (permissive, then shipped policy)"
gpasswd -a "$TEST_USER" "$GROUP" > /dev/null && ADDED_TO_GROUP=1
check "user is in the group" bash -c "id -nG '$TEST_USER' | tr ' ' '\n' | grep -qx '$GROUP'"
user_mutating none -
out=$(as_user "$EXAMPLE" --migrate --migrate-seconds 1 --guest guest1 2>&1)
check "example --migrate as a group member (got: ${out:0:200})" grep -q "^inhibit: released" <<< "$out"
bus_set_policy shipped
user_mutating none -
check_eq "npages-boost set by the member" 250 "$(tunable npages-boost)"
check "holds released" wait_ms 2000 no_inhibitors
gpasswd -d "$TEST_USER" "$GROUP" > /dev/null && ADDED_TO_GROUP=0
t_end

# ---------------------------------------------------------------------------
t_begin "hostile calls are answered with errors; the daemon stays up"
fds_before=$(ls "/proc/$DAEMON/fd" | wc -l)
big=$(head -c 102400 /dev/zero | tr '\0' x)
while IFS='|' read -r desc args; do
        # shellcheck disable=SC2086
        out=$(bctl call "$DEST" "$OBJ" "$MGR" $args 2>&1)
        rc=$?
        check "$desc: an error (got: ${out:0:120})" test "$rc" != 0
        check "$desc: daemon alive" alive
done <<'EOF'
SetTunables with a string|SetTunables s foo
SetTunables with nothing|SetTunables
Inhibit with two strings|Inhibit ss merge who
Inhibit with integers|Inhibit uuu 1 2 3
NotifyBalloon without numbers|NotifyBalloon s guest1
NotifyBalloon with a wrong order|NotifyBalloon tstu 1 guest1 2 0
Assess with a string|Assess s lots
Retune with an argument|Retune t 0
GetStatistics with an argument|GetStatistics s x
ListInhibitors with an argument|ListInhibitors u 1
Assess with a bad max-wait-usec|Assess ta{sv} 1 1 max-wait-usec s soon
An unknown method|Reboot
EOF
out=$(bctl call "$DEST" "$OBJ" "$MGR" Inhibit sss retune "$big" why 2>&1)
check "100 KB who: an error (got: ${out:0:80})" test $? != 0
out=$(bctl call "$DEST" "$OBJ" "$MGR" Inhibit sss merge who "$big" 2>&1)
check "100 KB why: an error (got: ${out:0:80})" test $? != 0
check "no 100 KB strings listed" bash -c "! busctl --system call $DEST $OBJ $MGR ListInhibitors | grep -q xxxxxxxxxxxxxxxx"
out=$(gcall NotifyBalloon "'$big'" 1 2 0)
check_eq "100 KB guest: NoSuchGuest" org.ksmtuned1.NoSuchGuest "$(err_name "$out")"
out=$(bctl call "$DEST" "$OBJ" "$MGR" SetTunables "a{sv}" 1 "$big" x 1 2>&1)
check "100 KB tunable name: an error" test $? != 0
out=$(bctl get-property "$DEST" "$OBJ" "$MGR" NoSuchProperty 2>&1)
check "unknown property: an error" test $? != 0
out=$(bctl call "$DEST" /org/ksmtuned1/guest/nobody org.freedesktop.DBus.Properties GetAll s org.ksmtuned1.Guest 2>&1)
check "unknown guest object: an error" test $? != 0
out=$(gdbus call --system --dest "$DEST" --object-path "$OBJ" --method org.freedesktop.DBus.Properties.Set \
        "'$MGR'" "'PagesToScan'" "<uint32 5>" 2>&1)
check "Properties.Set as root refused (got $(err_name "$out"))" test "$(err_name "$out")" != none
check "pages_to_scan untouched" test "$(cat "$T/sys/pages_to_scan")" != 5
if [ -n "$HOLD" ]; then
        "$HOLD" retune flood "one of many" 1000 60 > "$T/flood.out" 2>&1 &
        flooder=$!
        PIDS+=("$flooder")
        check "1000 Inhibit calls done" wait_for 60 grep -q "^ready" "$T/flood.out"
        held=$(sed -n 's/^held //p' "$T/flood.out")
        errs=$(sed -n 's/^errors \([0-9]*\).*/\1/p' "$T/flood.out")
        echo "  (1000 Inhibit calls: held ${held:-?}, refused ${errs:-?}; $(grep '^errors' "$T/flood.out"))"
        check "some holds granted" test "${held:-0}" -ge 1
        check "the rest refused" test "${errs:-0}" -ge 1 -a $((${held:-0} + ${errs:-0})) = 1000
        check "refused with LimitsExceeded" grep -q "^errors [0-9]* org.freedesktop.DBus.Error.LimitsExceeded: " "$T/flood.out"
        check "daemon alive" alive
        check_eq "ListInhibitors lists every granted hold" "${held:-x}" "$(inhibitors_count)"
        out=$(gcall Retune)
        check_eq "Retune while held" org.ksmtuned1.Inhibited "$(err_name "$out")"
        kill -TERM "$flooder"
        wait "$flooder" 2> /dev/null
        check "all holds released" wait_for 5 no_inhibitors
        check_eq "Inhibited empty" "" "$(pval Inhibited)"
        check "no fd leaked (before $fds_before, after $(ls "/proc/$DAEMON/fd" | wc -l))" \
                wait_for 5 bash -c "[ \$(ls /proc/$DAEMON/fd | wc -l) -le $((fds_before + 2)) ]"
else
        t_skip "1000 Inhibit calls" "inhibit_hold helper not given"
fi
before=$(decisions)
cycle
check "still tuning" has_decisions $((before + 1))
check "daemon alive" alive
t_end

t_begin "Guest objects disappear when the VM exits"
kill -TERM "$VM1" "$VM3"
wait "$VM1" "$VM3" 2> /dev/null
cycle
check "uuid guest gone" wait_for 5 lacks_object "$P1"
check "anonymous guest gone" lacks_object "$P3"
check "guest2 still there" has_object "$P2"
check "InterfacesRemoved seen" wait_for 5 grep -q "InterfacesRemoved (objectpath '$P1'" "$WORK/main/gdbus.mon"
kill -TERM "$VM2"
wait "$VM2" 2> /dev/null
cycle
check "guest2 gone" wait_for 5 lacks_object "$P2"
out=$(gcall NotifyBalloon "'guest2'" 1 2 0)
check_eq "NotifyBalloon for a gone guest" org.ksmtuned1.NoSuchGuest "$(err_name "$out")"
t_end

t_begin "the daemon exits 0 on SIGTERM after all that"
kill -TERM "$WATCHER" 2> /dev/null
stop_daemon
check_eq "exit status (non-zero under ASan means a leak or error)" 0 $?
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$T/stderr'"
t_end

# ---------------------------------------------------------------------------
# Saturation: KSM_NPAGES_MAX 300 reached in one boost; saturate_cycles 2.
new_tree sat
printf 'KSM_NPAGES_MAX=300\nKSM_NPAGES_BOOST=300\n' >> "$T/conf"
SATURATE=2 INHIBIT_MAX=3 write_settings
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0 1000000

t_begin "BalloonAdvised under sustained shortage; State=saturated; critical at once; never while held"
start_vm -name guestS -m 8
VMS=$VM
start_daemon
check "name acquired" wait_for 10 bus_has_name "$DEST"
start_example "$T/watch.out" --watch 100
WATCHER=$EX
check "watching" wait_for 10 grep -q "^watch: " "$T/watch.out"
advised() { count_lines "$T/watch.out" "^signal: BalloonAdvised"; }
cycle
check_eq "cycle 1 at max effort" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
sleep 0.5
check_eq "cycle 1: no BalloonAdvised yet" 0 "$(advised)"
check "cycle 1: not saturated yet" test "$(pval State)" != saturated
t_sat=$(($(date +%s%N) / 1000))
cycle
check "cycle 2: BalloonAdvised" wait_for 3 bash -c "[ \$(grep -c '^signal: BalloonAdvised' '$T/watch.out') -ge 1 ]"
check_eq "cycle 2: State" saturated "$(pval State)"
line=$(grep "^signal: BalloonAdvised" "$T/watch.out" | tail -1)
check "level 1 (got: $line)" grep -q " level=1 " <<< "$line"
deficit=$(sed -n 's/.* deficit=\([0-9]*\) .*/\1/p' <<< "$line")
check "deficit > 0 (got ${deficit:-none})" test "${deficit:-0}" -gt 0
since=$(sed -n 's/.* since-usec=\([0-9]*\)$/\1/p' <<< "$line")
check "since_usec realtime and not in the future" test "${since:-0}" -gt $((t_sat - 30000000)) -a "${since:-0}" -le $(($(date +%s%N) / 1000))
check "PropertiesChanged State=saturated" wait_for 3 grep -q "^signal: PropertiesChanged.* State=saturated" "$T/watch.out"
res=$(bctl --json=short call "$DEST" "$OBJ" "$MGR" Assess "ta{sv}" 1073741824 0 2>&1)
check_eq "Assess while saturated: balloon" balloon "$(pyj "print(d['data'][0]['recommend']['data'])" <<< "$res" 2>&1)"
check_eq "Assess state" saturated "$(pyj "print(d['data'][0]['state']['data'])" <<< "$res" 2>&1)"
check_eq "Assess effort at max" 1000 "$(pyj "print(d['data'][0]['effort']['data'])" <<< "$res" 2>&1)"
out=$("$EXAMPLE" --need 1G --guest guestS --guest-memory 2G 2>&1)
check_eq "example while saturated: exit status" 0 $?
check "example: balloon advice (got: $(grep '^advice' <<< "$out"))" grep -q "^advice: recommend=balloon .* state=saturated effort=1000 " <<< "$out"
nt=$(sed -n 's/^notify: guest=guestS target=\([0-9]*\) actual=\([0-9]*\)$/\1 \2/p' <<< "$out")
check "example: NotifyBalloon before the inflate" grep -A1 "^notify: guest=guestS " <<< "$out" | grep -q "^action: would inflate balloons by [0-9]* bytes$"
check_eq "example: guest object got the values" "${nt:-none}" "$(gprop "$(guest_path guestS)" BalloonTargetBytes) $(gprop "$(guest_path guestS)" BalloonActualBytes)"
check_eq "example: actual is the guest memory" 2147483648 "${nt#* }"
out=$("$EXAMPLE" --need 1G --guest no-such-guest 2>&1)
check_eq "example, unknown guest: exit status" 1 $?
check "example, unknown guest: error name (got: $(grep '^error' <<< "$out"))" grep -q "^error: NotifyBalloon: org.ksmtuned1.NoSuchGuest: " <<< "$out"
cycle
check "cycle 3: emitted again" wait_for 3 bash -c "[ \$(grep -c '^signal: BalloonAdvised' '$T/watch.out') -ge 2 ]"
# Plenty of memory: KSM stops, not saturated any more.
write_meminfo "$T/proc/meminfo" 8388608 6000000 0 0 6000000
cycle
n0=$(advised)
check "not saturated with plenty of memory" test "$(pval State)" != saturated
check_eq "Pressure none" none "$(pval Pressure)"
res=$(bctl --json=short call "$DEST" "$OBJ" "$MGR" Assess "ta{sv}" 1048576 0 2>&1)
check_eq "Assess(1 MiB) with plenty: none" none "$(pyj "print(d['data'][0]['recommend']['data'])" <<< "$res" 2>&1)"
# Critical: MemAvailable 2.4 % < 5 %: level 2 on the first cycle.
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0 200000
cycle
check "critical: BalloonAdvised at once" wait_for 3 bash -c "[ \$(grep -c '^signal: BalloonAdvised' '$T/watch.out') -gt $n0 ]"
check "critical: level 2 (got: $(grep '^signal: BalloonAdvised' "$T/watch.out" | tail -1))" bash -c "grep '^signal: BalloonAdvised' '$T/watch.out' | tail -1 | grep -q ' level=2 '"
check_eq "Pressure critical" critical "$(pval Pressure)"
# Held: no advice, State=held.
if [ -n "$HOLD" ]; then
        "$HOLD" retune:merge test "no advice while held" 1 30 > "$T/hold.out" 2>&1 &
        holder=$!
        PIDS+=("$holder")
        check "hold taken" wait_for 10 grep -q "^ready" "$T/hold.out"
        n1=$(advised)
        kill -USR1 "$DAEMON"
        sleep 0.4
        kill -USR1 "$DAEMON"
        sleep 0.6
        check_eq "no BalloonAdvised while held" "$n1" "$(advised)"
        check_eq "State while held" held "$(pval State)"
        check_eq "Inhibited" retune:merge "$(pval Inhibited)"
        # inhibit_max_sec = 3: the hold is ended by the cap though its fd stays open.
        check_eq "InhibitMaxUSec" 3000000 "$(pval InhibitMaxUSec)"
        check "the cap ends the hold" wait_for 6 no_inhibitors
        check "holder still running (fd still open)" kill -0 "$holder"
        check_eq "Inhibited after the cap" "" "$(pval Inhibited)"
        kill -TERM "$holder"
        wait "$holder" 2> /dev/null
else
        t_skip "no BalloonAdvised while held" "inhibit_hold helper not given"
fi
check "daemon alive" alive
kill -TERM "$WATCHER" "$VMS" 2> /dev/null
stop_daemon
check_eq "daemon exit status" 0 $?
t_end

bus_stop

# ---------------------------------------------------------------------------
t_begin "no bus: keeps tuning, one warning; connects when the bus appears, and again after a restart"
new_tree nobus
write_settings
write_meminfo "$T/proc/meminfo" 8388608 100000 0 0 1000000
NOBUS_DIR="$WORK/nobus"
mkdir -p "$NOBUS_DIR"
: > "$T/stderr"
ino=$(stat -c '%d:%i' "$T/stderr")
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$NOBUS_DIR/system_bus_socket"
# JOURNAL_STREAM makes stderr carry <priority> prefixes: warnings are <4>.
JOURNAL_STREAM=$ino start_daemon
cycle
check_eq "tuning without a bus" "run=1 pages_to_scan=300 sleep_millisecs=20" "$(knobs)"
sleep 7   # several retry periods
cycle
check_eq "still tuning" "run=1 pages_to_scan=600 sleep_millisecs=20" "$(knobs)"
warnings=$(grep -E '^<[0-4]>' "$T/stderr" | grep -ci 'bus')
check_eq "exactly one bus warning over 7 s" 1 "$warnings"
check "the warning is a warning (<4>)" grep -Eiq '^<4>.*bus' "$T/stderr"
grep -Ei '^<[0-4]>' "$T/stderr" | head -5 | sed 's/^/  (stderr) /'
bus_start "$NOBUS_DIR" shipped
check "connects once the bus appears (within 15 s)" wait_for 15 bus_has_name "$DEST"
check_eq "and serves" "t $((8388608 * 1024))" "$(prop MemTotal)"
bus_stop
sleep 1
bus_start "$NOBUS_DIR" shipped
check "reconnects after a bus restart (within 15 s)" wait_for 15 bus_has_name "$DEST"
check_eq "and serves again" "t $((8388608 * 1024))" "$(prop MemTotal)"
cycle
check "still tuning" test "$(cat "$T/sys/pages_to_scan")" = 900
check "daemon alive" kill -0 "$DAEMON"
stop_daemon
check_eq "daemon exit status" 0 $?
t_end

t_summary

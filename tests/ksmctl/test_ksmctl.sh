#!/bin/bash
# ksmctl end to end, against temporary sysfs and proc trees: the stock
# start/stop, every reading verb without a daemon (figures computed by hand
# from the tree), the same with the real ksmtuned on a private system-like
# bus (tests/dbus/bus.sh, shipped policy), the control verbs, JSON checked by
# Python's parser, Prometheus text checked line by line (and by promtool
# where installed), the exit codes, and an unprivileged caller.
#
# Usage: test_ksmctl.sh KSMCTL_BIN KSMTUNED_BIN FAKE_VM_BIN
# Sections that need root (a daemon owning a name under the shipped policy,
# setpriv to an unprivileged user) or dbus-daemon/busctl are skipped with a
# reason where those are missing. Exit 77 when nothing can run.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/testlib.sh
. "$HERE/../lib/testlib.sh"

if [ $# -lt 3 ] || [ ! -x "$1" ] || [ ! -x "$2" ] || [ ! -x "$3" ]; then
        echo "SKIP: binaries not built (usage: $0 KSMCTL KSMTUNED FAKE_VM)"
        exit 77
fi
if ! command -v python3 > /dev/null; then
        echo "SKIP: python3 is not installed (needed to parse the JSON output)"
        exit 77
fi
KSMCTL=$(realpath "$1")
KSMTUNED=$(realpath "$2")
FAKE_VM=$(realpath "$3")

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
HAVE_BUS=1
WHY_NO_BUS=""
for tool in dbus-daemon busctl; do
        command -v "$tool" > /dev/null || { HAVE_BUS=0; WHY_NO_BUS="$tool is not installed"; }
done
[ "$IS_ROOT" = 1 ] || { HAVE_BUS=0; WHY_NO_BUS="not root (the daemon must own org.ksmtuned1 under the shipped policy)"; }
HAVE_NOBODY=1
WHY_NO_NOBODY=""
command -v setpriv > /dev/null || { HAVE_NOBODY=0; WHY_NO_NOBODY="setpriv is not installed"; }
[ "$IS_ROOT" = 1 ] || { HAVE_NOBODY=0; WHY_NO_NOBODY="not root (cannot switch to uid 65534)"; }

WORK=$(mktemp -d /tmp/ksmctl-test.XXXXXX)
chmod 755 "$WORK" # the unprivileged user reads trees and reaches the bus here
PIDS=()
DAEMON=""

# A private system-like bus with the shipped policy (bus_start/bus_stop).
# shellcheck source=../dbus/bus.sh
. "$HERE/../dbus/bus.sh"

cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null; done
        bus_stop
        wait 2> /dev/null
        rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Until a section starts a bus, no system bus is reachable at all: the
# "no daemon" behaviour never depends on the host.
NO_BUS="unix:path=$WORK/no-such-bus-socket"
export DBUS_SYSTEM_BUS_ADDRESS=$NO_BUS

PAGE=$(getconf PAGESIZE)
MIB=$((1024 * 1024))
SHARING=$((100 * MIB / PAGE)) # 25600 at 4 KiB pages: 100 MB shared
TAG="kct-$$" # short: names are cut to 24 columns in the VM table
ln -s "$FAKE_VM" "$WORK/qemu-system-x86_64"

# ---------------------------------------------------------------------------
# Helpers

# run COMMAND...: stdout to $OUT, stderr to $ERR, exit status to RC.
OUT=$WORK/out
ERR=$WORK/err
run() {
        "$@" > "$OUT" 2> "$ERR" < /dev/null
        RC=$?
}
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
lines() { wc -l < "$1" | tr -d ' '; }

# new_tree NAME [old]: a fake KSM sysfs and a proc dir with a meminfo; "old"
# leaves out the counters of newer kernels (general_profit, ksm_zero_pages).
new_tree() {
        local f
        T="$WORK/$1"
        mkdir -p "$T/sys" "$T/proc"
        chmod 755 "$T" "$T/sys" "$T/proc"
        for f in run:1 pages_to_scan:300 sleep_millisecs:20 pages_shared:1000 \
                pages_sharing:$SHARING pages_unshared:3000 pages_volatile:400 full_scans:7 \
                ksm_zero_pages:512 general_profit:98765432 merge_across_nodes:1 use_zero_pages:0 \
                max_page_sharing:256; do
                echo "${f#*:}" > "$T/sys/${f%%:*}"
        done
        if [ "${2:-}" = old ]; then
                rm "$T/sys/ksm_zero_pages" "$T/sys/general_profit"
        fi
        # total 8 GiB; free+buffers+cached 1300000 kB; available 2000000 kB
        write_meminfo "$T/proc/meminfo" 8388608 1000000 100000 200000 2000000
        chmod 644 "$T/proc/meminfo"
}

# Hand-computed figures for the tree above.
EXP_SHARED=$((SHARING * PAGE))
EXP_SAVED=$(((SHARING + 512) * PAGE))
EXP_SAVED_OLD=$((SHARING * PAGE))
EXP_TOTAL=$((8388608 * 1024))
EXP_AVAIL=$((2000000 * 1024))
EXP_FREE=$((1300000 * 1024))
# ksmctl without a daemon uses the host's configuration files (defaults when
# absent), as ksmtuned would: ask ksmtuned what they amount to.
conf_value() { "$KSMTUNED" --print-config 2> /dev/null | sed -n "s/^$1=\([-0-9]*\) .*/\1/p"; }
H_COEF=$(conf_value KSM_THRES_COEF)
H_CONST=$(conf_value KSM_THRES_CONST)
H_MIN=$(conf_value KSM_NPAGES_MIN)
H_MAX=$(conf_value KSM_NPAGES_MAX)
thres_bytes() { # COEF CONST
        local t=$((8388608 * $1 / 100))
        [ "$2" -gt "$t" ] && t=$2
        echo $((t * 1024))
}
EXP_THRES_HOST=$(thres_bytes "${H_COEF:-20}" "${H_CONST:-2048}")
# The test daemon runs with the defaults (20 %, 2048 kB, 64..1250).
EXP_THRES_DEFAULT=$(thres_bytes 20 2048)

# Python helpers for JSON checks: jcheck FILE CODE loads FILE as one JSON
# document into d and runs CODE (asserts) with the expected values in scope.
cat > "$WORK/jlib.py" <<'PY'
import json, os, sys

STATUS_KEYS = ["source", "daemon", "run", "pages_to_scan", "sleep_millisecs", "pages_shared",
               "pages_sharing", "pages_unshared", "pages_volatile", "full_scans", "zero_pages",
               "general_profit_bytes", "page_size", "shared_bytes", "shared_mb", "saved_bytes",
               "committed_bytes", "vms", "mem_total_bytes", "mem_available_bytes", "free_bytes",
               "threshold_bytes", "npages_min", "npages_max"]
DAEMON_KEYS = ["running", "version", "mode", "state", "pressure", "held", "effort_permille",
               "ksmd_cpu_percent"]
VM_KEYS = ["pid", "id", "name", "rss_bytes", "merging_pages", "merged_bytes", "zero_pages",
           "profit_bytes"]
E = {k[4:].lower(): int(v) for k, v in os.environ.items() if k.startswith("EXP_") and v.lstrip("-").isdigit()}


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_status(d, source, thres, old=False):
    assert isinstance(d, dict), "status is not an object"
    assert list(d.keys()) == STATUS_KEYS, "keys %s" % list(d.keys())
    assert d["source"] == source, "source %r" % d["source"]
    if source == "daemon":
        assert list(d["daemon"].keys()) == DAEMON_KEYS, "daemon keys %s" % list(d["daemon"])
        assert d["daemon"]["running"] is True
        assert is_int(d["daemon"]["effort_permille"]) and 0 <= d["daemon"]["effort_permille"] <= 1000
        assert is_num(d["daemon"]["ksmd_cpu_percent"])
        for k in ("version", "mode", "state", "pressure", "held"):
            assert isinstance(d["daemon"][k], str), k
    else:
        assert d["daemon"] == {"running": False}, "daemon %r" % d["daemon"]
    for k in STATUS_KEYS[2:]:
        if k == "shared_mb":
            assert is_num(d[k]), k
        elif not (old and k == "general_profit_bytes"):
            assert is_int(d[k]), "%s is %r, not an integer" % (k, d[k])
    want = {"run": 1, "pages_to_scan": 300, "sleep_millisecs": 20, "pages_shared": 1000,
            "pages_sharing": E["sharing"], "pages_unshared": 3000, "pages_volatile": 400,
            "full_scans": 7, "zero_pages": 0 if old else 512,
            "general_profit_bytes": None if old else 98765432, "page_size": E["page"],
            "shared_bytes": E["shared"], "shared_mb": 100.0,
            "saved_bytes": E["saved_old"] if old else E["saved"], "mem_total_bytes": E["total"],
            "mem_available_bytes": E["avail"], "free_bytes": E["free"], "threshold_bytes": thres}
    for k, v in want.items():
        assert d[k] == v, "%s: expected %r, got %r" % (k, v, d[k])
    assert d["shared_bytes"] == d["pages_sharing"] * d["page_size"]


def check_vm(v):
    assert list(v.keys()) == VM_KEYS, "vm keys %s" % list(v.keys())
    assert is_int(v["pid"]) and is_int(v["rss_bytes"])
    assert isinstance(v["id"], str) and isinstance(v["name"], str)
    for k in ("merging_pages", "merged_bytes", "zero_pages", "profit_bytes"):
        assert v[k] is None or is_int(v[k]), "%s is %r" % (k, v[k])
    if v["merging_pages"] is not None:
        assert v["merged_bytes"] == v["merging_pages"] * E["page"]


def sort_key(v):
    return (-(v["profit_bytes"] or 0), -(v["merging_pages"] or 0), v["pid"])


def check_sorted(vms):
    assert vms == sorted(vms, key=sort_key), "not sorted by savings: %s" % [
        (v["pid"], v["profit_bytes"], v["merging_pages"]) for v in vms]


def main():
    path, code = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")  # JSON text is UTF-8 (RFC 8259)
        d = json.loads(text)
    except ValueError as e:
        print("    not JSON (%s): %.300r" % (e, raw), file=sys.stderr)
        sys.exit(1)
    env = dict(globals())
    env["d"] = d
    try:
        exec(code, env)
    except (AssertionError, KeyError, TypeError, IndexError) as e:
        print("    %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
PY
export EXP_SHARING=$SHARING EXP_PAGE=$PAGE EXP_SHARED EXP_SAVED EXP_SAVED_OLD EXP_TOTAL EXP_AVAIL EXP_FREE
jcheck() { python3 "$WORK/jlib.py" "$@"; }

# Strict Prometheus text format check: every line is HELP, TYPE or a sample
# matching the exposition grammar; HELP and TYPE once per family, before its
# samples; families not interleaved; no duplicate series; final newline.
cat > "$WORK/promcheck.py" <<'PY'
import re, sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? (-?[0-9.eE+-]+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
HELP = re.compile(r'^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$')
TYPE = re.compile(r'^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$')

errors = []
raw = open(sys.argv[1], "rb").read()
try:
    text = raw.decode("utf-8")  # the text format is UTF-8
except UnicodeDecodeError as e:
    errors.append("not UTF-8: %s" % e)
    text = raw.decode("utf-8", "replace")
if not text.endswith("\n"):
    errors.append("no newline after the last line")
helps, types, closed, series = set(), set(), set(), set()
current = None
samples = 0
for n, line in enumerate(text.split("\n")[:-1], 1):
    m_help, m_type, m_sample = HELP.match(line), TYPE.match(line), SAMPLE.match(line)
    if m_help or m_type:
        name = (m_help or m_type).group(1)
        seen = helps if m_help else types
        if name in seen:
            errors.append("line %d: second %s for %s" % (n, "HELP" if m_help else "TYPE", name))
        if name in closed:
            errors.append("line %d: %s comes after its samples or another family" % (n, name))
        seen.add(name)
        if current != name and current is not None:
            closed.add(current)
        current = name
        continue
    if not m_sample:
        errors.append("line %d: not HELP, TYPE or a sample: %r" % (n, line))
        continue
    name = m_sample.group(1)
    if name != current:
        errors.append("line %d: sample of %s outside its family (current %s)" % (n, name, current))
    if name not in helps or name not in types:
        errors.append("line %d: %s has no HELP and TYPE before its samples" % (n, name))
    try:
        float(m_sample.group(6))
    except ValueError:
        errors.append("line %d: value %r is not a number" % (n, m_sample.group(6)))
    labels = tuple(sorted(LABEL.findall(m_sample.group(2) or "")))
    for _, value in labels:
        if not re.fullmatch(r'(?:[^"\\]|\\[\\"n])*', value):
            errors.append("line %d: bad escape in label value %r" % (n, value))
    if len({k for k, _ in labels}) != len(labels):
        errors.append("line %d: repeated label name" % n)
    if (name, labels) in series:
        errors.append("line %d: duplicate series %s%s" % (n, name, labels))
    series.add((name, labels))
    samples += 1
for name in helps ^ types:
    errors.append("%s has HELP or TYPE, not both" % name)
if samples == 0:
    errors.append("no samples")
for e in errors:
    print("    " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# metric FILE NAME[{LABELS}]: the value of one sample.
metric() { awk -v n="$2" '$1 == n {print $2}' "$1"; }

check_metrics_format() { # FILE
        check "metrics: strict line format, HELP/TYPE, no duplicates" python3 "$WORK/promcheck.py" "$1"
        if command -v promtool > /dev/null; then
                local out rc
                out=$(promtool check metrics < "$1" 2>&1)
                rc=$?
                # promtool exits 1 on a parse error, 3 on lint problems.
                check "promtool check metrics parses it${out:+: $out}" test "$rc" != 1
                check "promtool check metrics: lint clean${out:+: $out}" test "$rc" = 0
        fi
}

# start_vm NAME MIB: a stand-in VM that the built-in rules count (comm
# qemu-system-x86, cmdline qemu-system... -enable-kvm), tagged with -sandbox
# TAG for the test daemon's narrower rule; waits until its memory is touched.
start_vm() {
        local name=$1 mib=$2 ready="$WORK/ready.$RANDOM$RANDOM"
        FAKE_VM_READY=$ready bash -c 'exec -a qemu-system-x86_64 "$@"' x "$WORK/qemu-system-x86_64" \
                -enable-kvm -m "$mib" -name "$name" -sandbox "$TAG" &
        VM=$!
        PIDS+=("$VM")
        wait_for 10 test -s "$ready"
}

start_daemon() { # TREE: the real daemon on the private bus, default tunables
        printf 'KSM_MONITOR_INTERVAL=3600\nDEBUG=1\nLOGFILE=%s/log\n' "$1" > "$1/conf"
        printf 'vm_match = { comm = []; cmdline = ["^qemu-system.*-enable-kvm.* -sandbox %s$"]; };\n' \
                "$TAG" > "$1/settings.cfg"
        : > "$1/log"
        "$KSMTUNED" --foreground --config "$1/conf" --settings "$1/settings.cfg" \
                --sysfs-dir "$1/sys" --proc-dir "$1/proc" 2> "$1/stderr" &
        DAEMON=$!
        PIDS+=("$DAEMON")
        wait_for 10 bus_has_name org.ksmtuned1
}
stop_daemon() {
        [ -n "$DAEMON" ] || return 0
        kill -TERM "$DAEMON" 2> /dev/null
        wait "$DAEMON" 2> /dev/null
        DAEMON=""
}
decisions() { count_lines "$1/log" "decision: "; }
has_decisions() { [ "$(decisions "$1")" -ge "$2" ]; }
cycle() { # TREE: one SIGUSR1, wait for its decision
        local before
        before=$(decisions "$1")
        kill -USR1 "$DAEMON"
        wait_for 10 has_decisions "$1" $((before + 1))
}
bctl() { busctl --system --timeout=10 "$@" < /dev/null; }
list_inhibitors() { bctl call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager ListInhibitors; }
no_inhibitors() { [ "$(list_inhibitors)" = "a(sssuut) 0" ]; }
tunable() { # NAME: its value in the daemon's Tunables property
        bctl --json=short get-property org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager Tunables |
                python3 -c "import json,sys; print(json.load(sys.stdin)['data']['$1']['data'])"
}

# ===========================================================================
# Stock verbs: start and stop
# ===========================================================================

HALF_RAM=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024 / PAGE / 2))

t_begin "start with max_kernel_pages: KSM_MAX_KERNEL_PAGES written, then run=1"
new_tree start1
echo 0 > "$T/sys/run"
echo 0 > "$T/sys/max_kernel_pages"
KSM_MAX_KERNEL_PAGES=1234 run "$KSMCTL" start --sysfs-dir "$T/sys"
check_eq "exit status" 0 "$RC"
check_eq "max_kernel_pages" 1234 "$(cat "$T/sys/max_kernel_pages")"
check_eq "run" 1 "$(cat "$T/sys/run")"
check_eq "silent on stdout" "" "$(cat "$OUT")"
check_eq "silent on stderr" "" "$(cat "$ERR")"
check_eq "other knobs untouched" "300 20" "$(cat "$T/sys/pages_to_scan") $(cat "$T/sys/sleep_millisecs")"
t_end

t_begin "start, KSM_MAX_KERNEL_PAGES unset: half of RAM in pages, as stock"
new_tree start2
echo 0 > "$T/sys/run"
echo 0 > "$T/sys/max_kernel_pages"
(unset KSM_MAX_KERNEL_PAGES; "$KSMCTL" start --sysfs-dir "$T/sys" > "$OUT" 2> "$ERR")
check_eq "exit status" 0 $?
check_eq "max_kernel_pages = MemTotal / page size / 2" "$HALF_RAM" "$(cat "$T/sys/max_kernel_pages")"
check_eq "run" 1 "$(cat "$T/sys/run")"
KSM_MAX_KERNEL_PAGES='' run "$KSMCTL" start --sysfs-dir "$T/sys"
check_eq "empty KSM_MAX_KERNEL_PAGES: default too" "$HALF_RAM" "$(cat "$T/sys/max_kernel_pages")"
KSM_MAX_KERNEL_PAGES=0x10 run "$KSMCTL" start --sysfs-dir "$T/sys"
check_eq "hexadecimal KSM_MAX_KERNEL_PAGES (ksmctl(8))" 16 "$(cat "$T/sys/max_kernel_pages")"
KSM_MAX_KERNEL_PAGES=lots run "$KSMCTL" start --sysfs-dir "$T/sys"
check_eq "not a number: the default" "$HALF_RAM" "$(cat "$T/sys/max_kernel_pages")"
check_eq "not a number: still exit 0" 0 "$RC"
t_end

t_begin "start without max_kernel_pages (every kernel since 2.6.33): run=1 only"
new_tree start3
echo 0 > "$T/sys/run"
KSM_MAX_KERNEL_PAGES=1234 run "$KSMCTL" start --sysfs-dir "$T/sys"
check_eq "exit status" 0 "$RC"
check_eq "run" 1 "$(cat "$T/sys/run")"
check "max_kernel_pages not created" test ! -e "$T/sys/max_kernel_pages"
t_end

t_begin "stop writes run=0 and nothing else"
new_tree stop
echo 777 > "$T/sys/max_kernel_pages"
KSM_MAX_KERNEL_PAGES=1234 run "$KSMCTL" stop --sysfs-dir "$T/sys"
check_eq "exit status" 0 "$RC"
check_eq "run" 0 "$(cat "$T/sys/run")"
check_eq "max_kernel_pages untouched" 777 "$(cat "$T/sys/max_kernel_pages")"
check_eq "silent" "" "$(cat "$OUT" "$ERR")"
t_end

t_begin "unknown verb or none: usage on stderr, exit 1"
run "$KSMCTL" restart
check_eq "exit status" 1 "$RC"
check "usage on stderr" grep -q "^Usage: ksmctl" "$ERR"
check_eq "nothing on stdout" "" "$(cat "$OUT")"
run "$KSMCTL"
check_eq "no verb: exit status" 1 "$RC"
check "no verb: usage on stderr" grep -q "^Usage: ksmctl" "$ERR"
run "$KSMCTL" --bogus-option status
check_eq "unknown option: exit status" 1 "$RC"
check "unknown option named" grep -q -- "--bogus-option" "$ERR"
run "$KSMCTL" --help
check_eq "--help: exit 0" 0 "$RC"
check "--help: usage on stdout" grep -q "^Usage: ksmctl" "$OUT"
run "$KSMCTL" --version
check_eq "--version: exit 0" 0 "$RC"
check "--version: names ksmctl" grep -q "^ksmctl " "$OUT"
t_end

t_begin "a failed write of run: one line on stderr, exit 1"
new_tree runfail
rm "$T/sys/run"
mkdir "$T/sys/run" # writes fail with EISDIR
run "$KSMCTL" start --sysfs-dir "$T/sys"
check_eq "start: exit status" 1 "$RC"
check_eq "start: one line" 1 "$(lines "$ERR")"
check "start: names the file" grep -q "$T/sys/run" "$ERR"
run "$KSMCTL" stop --sysfs-dir "$T/sys"
check_eq "stop: exit status" 1 "$RC"
check_eq "stop: one line" 1 "$(lines "$ERR")"
t_end

t_begin "start/stop without KSM (no sysfs directory): exit 4"
run "$KSMCTL" start --sysfs-dir "$WORK/absent"
check_eq "start: exit status" 4 "$RC"
check_eq "start: one line" 1 "$(lines "$ERR")"
run "$KSMCTL" stop --sysfs-dir "$WORK/absent"
check_eq "stop: exit status" 4 "$RC"
t_end

if [ "$HAVE_NOBODY" = 1 ]; then
        t_begin "start/stop as an unprivileged user: permission denied, exit 5"
        new_tree runperm
        as_nobody "$KSMCTL" stop --sysfs-dir "$T/sys" > "$OUT" 2> "$ERR"
        check_eq "stop: exit status" 5 $?
        check_eq "stop: one line" 1 "$(lines "$ERR")"
        check_eq "run untouched" 1 "$(cat "$T/sys/run")"
        t_end
else
        t_skip "start/stop as an unprivileged user" "$WHY_NO_NOBODY"
fi

# ===========================================================================
# Reading without a daemon
# ===========================================================================

# Our own VMs, counted by the built-in rules (ksmctl without a daemon) and
# by the test daemon's rule alike. Other VM-like processes on the host may
# be listed too; checks look for ours.
VM_NAMES=("$TAG-small" "$TAG-big" "$TAG-q\"b\\s")
VM_MIBS=(8 24 16)
VM_PIDS=()
for i in 0 1 2; do
        start_vm "${VM_NAMES[$i]}" "${VM_MIBS[$i]}"
        VM_PIDS+=("$VM")
done
export VM_PIDS_JSON="[${VM_PIDS[0]},${VM_PIDS[1]},${VM_PIDS[2]}]"
export VM_NAMES_JSON
VM_NAMES_JSON=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${VM_NAMES[@]}")
export VM_MIBS_JSON="[8,24,16]"
# ours: our VMs from a vms list d, in the order started.
OURS='ours = [next(v for v in VMS if v["pid"] == p) for p in json.loads(os.environ["VM_PIDS_JSON"])]'
CHECK_OURS="$OURS
names = json.loads(os.environ['VM_NAMES_JSON'])
mibs = json.loads(os.environ['VM_MIBS_JSON'])
for v, n, m in zip(ours, names, mibs):
    check_vm(v)
    assert v['name'] == n and v['id'] == n, 'name %r id %r, want %r' % (v['name'], v['id'], n)
    assert v['rss_bytes'] >= m * 1024 * 1024, 'rss %d < %d MiB' % (v['rss_bytes'], m)
check_sorted(VMS)"

t_begin "status without a daemon: figures from sysfs, computed by hand, and it says so"
new_tree nod
run "$KSMCTL" status --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "exit status (falls back)" 0 "$RC"
check "says the figures come from sysfs" grep -q "^Driven by: .*no ksmtuned daemon reachable; figures from sysfs" "$OUT"
check "runs: running (run=1)" grep -q "^KSM: *running (run=1)" "$OUT"
check "100.0 MB shared (pages_sharing $SHARING)" grep -q "^Shared: *100.0 MB shared (pages_sharing $SHARING, pages_shared 1000)" "$OUT"
SAVED_MIB=$(awk -v b="$EXP_SAVED" 'BEGIN {printf "%.1f MiB", b / 1048576}')
check "saved $SAVED_MIB including 512 zero pages; general profit 94.2 MiB" \
        grep -q "^Saved: *$SAVED_MIB (including 512 zero pages); general profit 94.2 MiB" "$OUT"
check "scanning: 300 pages, 20 ms, 7 full scans" grep -q "^Scanning: *pages_to_scan 300, sleep_millisecs 20; 7 full scans" "$OUT"
check "unshared and volatile pages" grep -q "^Pages: *3000 unshared, 400 volatile" "$OUT"
check "committed VM memory line" grep -Eq "^VMs: *[0-9]+, committing [0-9.]+ [KMGT]?i?B" "$OUT"
check "memory: total 8.0 GiB, free 1.2 GiB, available 1.9 GiB" \
        grep -q "^Memory: *total 8.0 GiB, free 1.2 GiB (MemFree+Buffers+Cached), available 1.9 GiB" "$OUT"
TH=$(awk -v b="$EXP_THRES_HOST" 'BEGIN {printf "%.1f GiB", b / 1073741824}')
check "thresholds: $TH, pages_to_scan $H_MIN..$H_MAX" grep -q "^Thresholds: .*free < $TH .*pages_to_scan $H_MIN\.\.$H_MAX" "$OUT"
run "$KSMCTL" --no-daemon status --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "--no-daemon: exit status" 0 "$RC"
check "--no-daemon: says sysfs" grep -q "figures from sysfs" "$OUT"
check_eq "--no-daemon: nothing on stderr" "" "$(cat "$ERR")"
t_end

t_begin "status --json without a daemon: stable keys, numbers, hand-computed values"
run "$KSMCTL" status --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "exit status" 0 "$RC"
check_eq "one line" 1 "$(lines "$OUT")"
check "valid JSON (json.tool)" python3 -m json.tool "$OUT" /dev/null
check "keys and values" jcheck "$OUT" "check_status(d, 'sysfs', $EXP_THRES_HOST)
assert d['npages_min'] == $H_MIN and d['npages_max'] == $H_MAX
assert d['vms'] >= 3 and d['committed_bytes'] >= (8 + 24 + 16) * 1024 * 1024, (d['vms'], d['committed_bytes'])"
cp "$OUT" "$WORK/status-sysfs.json"
t_end

t_begin "status --json on a kernel without general_profit and ksm_zero_pages: null, not 0"
new_tree nod-old old
run "$KSMCTL" --no-daemon status --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "exit status" 0 "$RC"
check "keys and values" jcheck "$OUT" "check_status(d, 'sysfs', $EXP_THRES_HOST, old=True)"
cp "$OUT" "$WORK/status-sysfs-old.json"
run "$KSMCTL" --no-daemon status --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check "human: no general profit claimed" bash -c "! grep -q 'general profit' '$OUT'"
check "human: no zero pages claimed" bash -c "! grep -q 'zero pages' '$OUT'"
t_end
T=$WORK/nod

if [ "$IS_ROOT" = 1 ]; then
        t_begin "vms without a daemon (root): one line per VM, ksm_stat figures, sorted by savings"
        run "$KSMCTL" --no-daemon vms --sysfs-dir "$T/sys" --proc-dir "$T/proc"
        check_eq "exit status" 0 "$RC"
        check "header" grep -Eq "^ +PID +NAME +RSS +MERGED +ZERO +PROFIT$" "$OUT"
        for i in 0 1 2; do
                check "VM ${VM_NAMES[$i]}: one line with pid, name and figures" \
                        grep -Eq "^ *${VM_PIDS[$i]} +${VM_NAMES[$i]//\\/\\\\} +[0-9.]+ MiB +[0-9.]+ [KMG]?i?B +[0-9]+ +-?[0-9.]+ MiB$" "$OUT"
        done
        if [ -r "/proc/self/ksm_stat" ]; then
                check "no 'needs root' note as root" bash -c "! grep -q 'need' '$OUT'"
        fi
        run "$KSMCTL" --no-daemon vms --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
        check_eq "--json: exit status" 0 "$RC"
        cp "$OUT" "$WORK/vms.json"
        check "--json: valid JSON" python3 -m json.tool "$OUT" /dev/null
        if [ -r "/proc/self/ksm_stat" ]; then
                check "--json: our VMs, figures from ksm_stat as numbers, sorted" jcheck "$OUT" "VMS = d
assert isinstance(d, list)
$CHECK_OURS
for v in ours:
    assert v['merging_pages'] == 0 and v['zero_pages'] == 0, v"
        else
                check "--json: our VMs, sorted" jcheck "$OUT" "VMS = d
$CHECK_OURS"
        fi
        t_end
else
        t_skip "vms without a daemon as root" "not root"
fi

if [ "$HAVE_NOBODY" = 1 ]; then
        t_begin "unprivileged user without a daemon: status works; vms says ksm_stat needs root"
        as_nobody "$KSMCTL" status --sysfs-dir "$T/sys" --proc-dir "$T/proc" > "$OUT" 2> "$ERR"
        check_eq "status: exit status" 0 $?
        check "status: 100.0 MB shared" grep -q "100.0 MB shared" "$OUT"
        as_nobody "$KSMCTL" status --json --sysfs-dir "$T/sys" --proc-dir "$T/proc" > "$OUT" 2> "$ERR"
        check "status --json: values" jcheck "$OUT" "check_status(d, 'sysfs', $EXP_THRES_HOST)"
        as_nobody "$KSMCTL" vms --sysfs-dir "$T/sys" --proc-dir "$T/proc" > "$OUT" 2> "$ERR"
        check_eq "vms: exit status" 0 $?
        check "vms: our VMs listed" grep -Eq "^ *${VM_PIDS[1]} +${VM_NAMES[1]} " "$OUT"
        check "vms: says per-VM figures need root" grep -q "need.*root" "$OUT"
        as_nobody "$KSMCTL" vms --json --sysfs-dir "$T/sys" --proc-dir "$T/proc" > "$OUT" 2> "$ERR"
        check "vms --json: our VMs with null figures" jcheck "$OUT" "VMS = d
$CHECK_OURS
for v in ours:
    assert v['merging_pages'] is None and v['profit_bytes'] is None, v"
        t_end
else
        t_skip "unprivileged user without a daemon" "$WHY_NO_NOBODY"
fi

t_begin "status --vms, stats and stats --watch without a daemon"
run "$KSMCTL" --no-daemon status --vms --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "status --vms: exit status" 0 "$RC"
check "status --vms: status then the VM table" bash -c "grep -q '100.0 MB shared' '$OUT' && grep -Eq '^ +PID +NAME' '$OUT'"
check "status --vms: our VM listed" grep -Eq "^ *${VM_PIDS[0]} +${VM_NAMES[0]} " "$OUT"
run "$KSMCTL" --no-daemon status --vms --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "status --vms --json: exit status" 0 "$RC"
check "status --vms --json: {status, vms}" jcheck "$OUT" "assert list(d.keys()) == ['status', 'vms'], list(d.keys())
check_status(d['status'], 'sysfs', $EXP_THRES_HOST)
VMS = d['vms']
$CHECK_OURS"
run "$KSMCTL" --no-daemon stats --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "stats --json: exit status" 0 "$RC"
check "stats --json: the status object" jcheck "$OUT" "check_status(d, 'sysfs', $EXP_THRES_HOST)"
timeout --preserve-status -s TERM 2.5 "$KSMCTL" --no-daemon stats --watch=1 --json \
        --sysfs-dir "$T/sys" --proc-dir "$T/proc" > "$OUT" 2> "$ERR"
check_eq "stats --watch=1 --json: SIGTERM ends it, exit 0" 0 $?
n=$(lines "$OUT")
check "stats --watch=1 --json: 2 or 3 lines in 2.5 s (got $n)" test "$n" -ge 2 -a "$n" -le 3
i=0
while IFS= read -r line; do
        i=$((i + 1))
        printf '%s\n' "$line" > "$WORK/line.json"
        check "stats --watch line $i: a JSON object with the status" \
                jcheck "$WORK/line.json" "check_status(d, 'sysfs', $EXP_THRES_HOST)"
done < "$OUT"
check "stats --watch: output ends with a newline" test "$(tail -c1 "$OUT" | od -An -c | tr -d ' ')" = '\n'
timeout --preserve-status -s INT 1.5 "$KSMCTL" --no-daemon stats --watch=1 \
        --sysfs-dir "$T/sys" --proc-dir "$T/proc" > "$OUT" 2> "$ERR"
check_eq "stats --watch (human): SIGINT ends it, exit 0" 0 $?
check "stats --watch (human): refreshed" test "$(grep -c '^KSM:' "$OUT")" -ge 2
run "$KSMCTL" --no-daemon stats --watch=0 --sysfs-dir "$T/sys"
check_eq "--watch=0 refused, exit 1" 1 "$RC"
run "$KSMCTL" --no-daemon stats --watch=soon --sysfs-dir "$T/sys"
check_eq "--watch=soon refused, exit 1" 1 "$RC"
t_end

t_begin "metrics without a daemon: Prometheus text format, hand-computed values"
run "$KSMCTL" --no-daemon metrics --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "exit status" 0 "$RC"
check_metrics_format "$OUT"
check_eq "ksm_pages_sharing" "$SHARING" "$(metric "$OUT" ksm_pages_sharing)"
check_eq "ksm_shared_bytes" "$EXP_SHARED" "$(metric "$OUT" ksm_shared_bytes)"
check_eq "ksm_saved_bytes" "$EXP_SAVED" "$(metric "$OUT" ksm_saved_bytes)"
check_eq "ksm_general_profit_bytes" 98765432 "$(metric "$OUT" ksm_general_profit_bytes)"
check_eq "ksm_zero_pages" 512 "$(metric "$OUT" ksm_zero_pages)"
check_eq "ksm_full_scans_total" 7 "$(metric "$OUT" ksm_full_scans_total)"
check_eq "ksm_run" 1 "$(metric "$OUT" ksm_run)"
check_eq "ksmtuned_up" 0 "$(metric "$OUT" ksmtuned_up)"
check "no daemon state without a daemon" bash -c "! grep -q '^ksmtuned_state' '$OUT'"
if [ "$IS_ROOT" = 1 ] && [ -r /proc/self/ksm_stat ]; then
        check "per-VM sample for ${VM_NAMES[0]}" grep -q "^ksm_vm_profit_bytes{vm=\"${VM_NAMES[0]}\",name=\"${VM_NAMES[0]}\",pid=\"${VM_PIDS[0]}\"} 0$" "$OUT"
        check "label value escaped (quote, backslash)" grep -qF "name=\"$TAG-q\\\"b\\\\s\",pid=\"${VM_PIDS[2]}\"}" "$OUT"
fi
cp "$OUT" "$WORK/metrics-sysfs.prom"
run "$KSMCTL" --no-daemon metrics --sysfs-dir "$WORK/nod-old/sys" --proc-dir "$T/proc"
check_metrics_format "$OUT"
check "old kernel: no ksm_general_profit_bytes sample" bash -c "! grep -q '^ksm_general_profit_bytes' '$OUT'"
t_end

t_begin "VM names beyond ASCII: UTF-8 kept, invalid bytes do not break JSON or metrics"
start_vm "$TAG-é" 4
vm_utf8=$VM
start_vm "$TAG-"$'\xff\xfe' 4
vm_bad=$VM
run "$KSMCTL" --no-daemon vms --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "vms --json: exit status" 0 "$RC"
check "vms --json: valid JSON (json.tool)" python3 -m json.tool "$OUT" /dev/null
check "vms --json: the UTF-8 name kept as is" jcheck "$OUT" "assert any(v['pid'] == $vm_utf8 and v['name'] == '$TAG-\u00e9' for v in d), 'no $TAG-\u00e9'
assert any(v['pid'] == $vm_bad for v in d), 'VM with a non-UTF-8 name missing'"
run "$KSMCTL" --no-daemon status --vms --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check "status --vms --json: valid JSON" jcheck "$OUT" "assert 'vms' in d"
run "$KSMCTL" --no-daemon metrics --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "metrics: exit status" 0 "$RC"
check_metrics_format "$OUT"
kill -TERM "$vm_utf8" "$vm_bad"
wait "$vm_utf8" "$vm_bad" 2> /dev/null
t_end

t_begin "no KSM (--sysfs-dir missing or without run): one line, exit 4"
for verb in status vms stats metrics; do
        run "$KSMCTL" --no-daemon "$verb" --sysfs-dir "$WORK/absent" --proc-dir "$T/proc"
        check_eq "$verb --no-daemon: exit status" 4 "$RC"
        check_eq "$verb --no-daemon: one line" 1 "$(lines "$ERR")"
        check "$verb --no-daemon: names the directory" grep -q "$WORK/absent" "$ERR"
        check_eq "$verb --no-daemon: nothing on stdout" "" "$(cat "$OUT")"
done
run "$KSMCTL" --no-daemon status --json --sysfs-dir "$WORK/absent"
check_eq "status --json: exit status" 4 "$RC"
mkdir -p "$WORK/norun"
run "$KSMCTL" --no-daemon status --sysfs-dir "$WORK/norun"
check_eq "directory without run: exit status" 4 "$RC"
run "$KSMCTL" status --sysfs-dir "$WORK/absent"
check_eq "no daemon, no KSM, no --no-daemon: exit status" 4 "$RC"
t_end

t_begin "control verbs without a daemon (no system bus): one line, exit 3"
for cmd in "retune" "set npages-max=2000" "inhibit --what=merge --why=test -- touch $WORK/ran"; do
        # shellcheck disable=SC2086
        run "$KSMCTL" $cmd
        check_eq "$cmd: exit status" 3 "$RC"
        check_eq "$cmd: one line" 1 "$(lines "$ERR")"
        check "$cmd: says ksmtuned is not running" grep -q "ksmtuned is not running" "$ERR"
done
check "inhibit did not run the command without a hold" test ! -e "$WORK/ran"
t_end

t_begin "set: usage errors are caught before asking the daemon"
run "$KSMCTL" set
check_eq "no KEY=VALUE: exit 1" 1 "$RC"
run "$KSMCTL" set npages-max
check_eq "no '=': exit 1" 1 "$RC"
check "names the argument" grep -q "npages-max" "$ERR"
run "$KSMCTL" inhibit --what=merge -- true
check_eq "inhibit without --why: exit 1" 1 "$RC"
run "$KSMCTL" inhibit --what=merge --why=x
check_eq "inhibit without a command: exit 1" 1 "$RC"
t_end

# check_man_page: ksmctl(8) names every option of --help, every metric and
# every JSON key that the runs above printed.
check_man_page() {
        local man="$HERE/../../man/ksmctl.8" txt="$WORK/ksmctl.8.txt" w missing=()
        if ! command -v mandoc > /dev/null; then
                t_skip "ksmctl(8) documents the output" "mandoc is not installed"
                return
        fi
        t_begin "ksmctl(8): lint clean, documents every option, metric and JSON key"
        check_eq "mandoc -T lint" "" "$(mandoc -T lint "$man" 2>&1)"
        mandoc -T ascii "$man" | col -b > "$txt"
        for w in $("$KSMCTL" --help | grep -o -- '--[a-z-]*' | sort -u) --who; do
                grep -q -- "$w" "$txt" || missing+=("$w")
        done
        # shellcheck disable=SC2013 # metric names are single words
        for w in $(sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$WORK"/metrics-*.prom | sort -u); do
                grep -q -- "$w" "$txt" || missing+=("$w")
        done
        for w in $(cat "$WORK"/status-*.json "$WORK/vms.json" 2> /dev/null | python3 -c '
import json, sys
keys = set()
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            keys.add(k)
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
for line in sys.stdin:
    walk(json.loads(line))
print("\n".join(sorted(keys)))'); do
                grep -qw -- "$w" "$txt" || missing+=("$w")
        done
        check_eq "undocumented" "" "${missing[*]}"
        t_end
}

# ===========================================================================
# With the real daemon on a private bus
# ===========================================================================

if [ "$HAVE_BUS" = 0 ]; then
        t_skip "everything with the daemon" "$WHY_NO_BUS"
        check_man_page
        t_summary
        exit $?
fi

bus_start "$WORK/bus" shipped || { echo "FAIL: could not start a private bus" >&2; exit 1; }

t_begin "bus without ksmtuned: control verbs exit 3; reading falls back to sysfs"
for cmd in "retune" "set npages-max=2000"; do
        # shellcheck disable=SC2086
        run "$KSMCTL" $cmd
        check_eq "$cmd: exit status" 3 "$RC"
        check_eq "$cmd: one line" 1 "$(lines "$ERR")"
        check "$cmd: names org.ksmtuned1" grep -q "org.ksmtuned1" "$ERR"
done
run "$KSMCTL" status --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "status: exit 0" 0 "$RC"
check "status: from sysfs" jcheck "$OUT" "check_status(d, 'sysfs', $EXP_THRES_HOST)"
t_end

new_tree dmn
if ! start_daemon "$T"; then
        echo "FAIL: ksmtuned did not claim org.ksmtuned1:" >&2
        cat "$T/stderr" >&2
        exit 1
fi

t_begin "status from the daemon: same figures as from sysfs, and who drives KSM"
run "$KSMCTL" status --sysfs-dir "$WORK/absent"
check_eq "exit status (the daemon answers; --sysfs-dir unused)" 0 "$RC"
VERSION=$("$KSMTUNED" --version | grep -o '[0-9][0-9.]*' | head -1)
check "driven by ksmtuned $VERSION, policy legacy" grep -q "^Driven by: *ksmtuned $VERSION, policy legacy, state " "$OUT"
check "100.0 MB shared" grep -q "^Shared: *100.0 MB shared (pages_sharing $SHARING, pages_shared 1000)" "$OUT"
check "saved, zero pages, general profit" grep -q "^Saved: *$SAVED_MIB (including 512 zero pages); general profit 94.2 MiB" "$OUT"
# effort: (300 - 64) * 1000 / (1250 - 64) = 198 permille
check "scanning with effort 19.8 %" grep -q "^Scanning: *pages_to_scan 300, sleep_millisecs 20, effort 19.8 %; 7 full scans" "$OUT"
check "memory" grep -q "^Memory: *total 8.0 GiB, free 1.2 GiB (MemFree+Buffers+Cached), available 1.9 GiB" "$OUT"
check "thresholds" grep -q "^Thresholds: .*free < 1.6 GiB (20 % of RAM).*pages_to_scan 64\.\.1250" "$OUT"
check_eq "nothing on stderr" "" "$(cat "$ERR")"
run "$KSMCTL" status --json
check_eq "--json: exit status" 0 "$RC"
check "--json: valid JSON (json.tool)" python3 -m json.tool "$OUT" /dev/null
check "--json: keys and values" jcheck "$OUT" "check_status(d, 'daemon', $EXP_THRES_DEFAULT)
assert d['npages_min'] == 64 and d['npages_max'] == 1250
assert d['daemon']['version'] == '$VERSION' and d['daemon']['mode'] == 'legacy'
assert d['daemon']['effort_permille'] == 198, d['daemon']['effort_permille']
assert d['daemon']['held'] == ''"
cp "$OUT" "$WORK/status-daemon.json"
run "$KSMCTL" --no-daemon status --json --sysfs-dir "$T/sys" --proc-dir "$T/proc"
cp "$OUT" "$WORK/status-sysfs-now.json"
check "same values from the daemon and from sysfs" python3 - "$WORK/status-daemon.json" "$WORK/status-sysfs-now.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert list(a.keys()) == list(b.keys()), "key sets differ"
skip = {"source", "daemon", "committed_bytes", "vms", "threshold_bytes", "npages_min", "npages_max"}
diff = {k: (a[k], b[k]) for k in a if k not in skip and a[k] != b[k]}
if diff:
    print("    daemon vs sysfs differ: %s" % diff, file=sys.stderr)
    sys.exit(1)
PY
t_end

t_begin "vms from the daemon: our VMs, RSS and ksm_stat figures"
cycle "$T" || echo "  (no decision logged)" >&2
run "$KSMCTL" vms --json
check_eq "exit status" 0 "$RC"
check "--json: exactly our VMs (the daemon's rule), sorted" jcheck "$OUT" "VMS = d
$CHECK_OURS
assert len(d) == 3, [v['name'] for v in d]"
run "$KSMCTL" vms
check_eq "human: exit status" 0 "$RC"
check_eq "human: a header and one line per VM" 4 "$(grep -vc 'need' "$OUT")"
for i in 0 1 2; do
        check "human: ${VM_NAMES[$i]}" grep -Eq "^ *${VM_PIDS[$i]} +${VM_NAMES[$i]//\\/\\\\} +[0-9.]+ MiB " "$OUT"
done
run "$KSMCTL" status --json
check "status: committed and VM count after a cycle" jcheck "$OUT" "assert d['vms'] == 3, d['vms']
assert d['committed_bytes'] >= (8 + 24 + 16) * 1024 * 1024, d['committed_bytes']"
run "$KSMCTL" status --vms --json
check "status --vms --json: {status, vms}" jcheck "$OUT" "assert list(d.keys()) == ['status', 'vms']
assert d['status']['source'] == 'daemon'
VMS = d['vms']
$CHECK_OURS"
run "$KSMCTL" status --vms
check "status --vms: status then the VM table" bash -c "grep -q '^Driven by: *ksmtuned' '$OUT' && grep -Eq '^ *${VM_PIDS[1]} +${VM_NAMES[1]} ' '$OUT'"
t_end

t_begin "stats and metrics from the daemon"
run "$KSMCTL" stats --json
check_eq "stats --json: exit status" 0 "$RC"
check "stats --json: the status object" jcheck "$OUT" "check_status(d, 'daemon', $EXP_THRES_DEFAULT)"
timeout --preserve-status -s TERM 2.5 "$KSMCTL" stats --watch=1 --json > "$OUT" 2> "$ERR"
check_eq "stats --watch=1 --json: exit 0 on SIGTERM" 0 $?
n=$(lines "$OUT")
check "stats --watch=1 --json: 2 or 3 lines (got $n)" test "$n" -ge 2 -a "$n" -le 3
check "stats --watch=1 --json: every line a JSON object from the daemon" python3 - "$OUT" <<'PY'
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    d = json.loads(line)
    assert isinstance(d, dict) and d["source"] == "daemon", "line %d" % n
PY
run "$KSMCTL" metrics
check_eq "metrics: exit status" 0 "$RC"
check_metrics_format "$OUT"
cp "$OUT" "$WORK/metrics-daemon.prom"
check_eq "ksmtuned_up" 1 "$(metric "$OUT" ksmtuned_up)"
check_eq "ksm_shared_bytes" "$EXP_SHARED" "$(metric "$OUT" ksm_shared_bytes)"
check_eq "ksm_saved_bytes" "$EXP_SAVED" "$(metric "$OUT" ksm_saved_bytes)"
check_eq "ksm_general_profit_bytes" 98765432 "$(metric "$OUT" ksm_general_profit_bytes)"
check_eq "state one-hot: exactly one 1" 1 "$(grep '^ksmtuned_state{' "$OUT" | awk '{s += $2} END {print s + 0}')"
STATE=$("$KSMCTL" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["state"])')
check_eq "state one-hot matches the daemon's State" "ksmtuned_state{state=\"$STATE\"} 1" "$(grep '^ksmtuned_state{.*} 1$' "$OUT")"
if [ -r /proc/self/ksm_stat ]; then
        check_eq "three per-VM samples" 3 "$(grep -c "^ksm_vm_profit_bytes{vm=\"$TAG" "$OUT")"
fi
t_end

t_begin "retune and set through the daemon"
before=$(decisions "$T")
run "$KSMCTL" retune
check_eq "retune: exit status" 0 "$RC"
check "retune: the daemon adjusted" wait_for 10 has_decisions "$T" $((before + 1))
run "$KSMCTL" set KSM_NPAGES_MAX=2000 npages-min=70
check_eq "set (stock and new names): exit status" 0 "$RC"
check_eq "npages-max" 2000 "$(tunable npages-max)"
check_eq "npages-min" 70 "$(tunable npages-min)"
run "$KSMCTL" status --json
check "status shows the new range" jcheck "$OUT" "assert (d['npages_min'], d['npages_max']) == (70, 2000), (d['npages_min'], d['npages_max'])"
run "$KSMCTL" set thres-coef=101
check_eq "bad value: exit 2" 2 "$RC"
check_eq "bad value: one line" 1 "$(lines "$ERR")"
check "bad value: names the key" grep -q "thres-coef" "$ERR"
check_eq "bad value: nothing changed" 20 "$(tunable thres-coef)"
run "$KSMCTL" set npages-max=1500 no-such-tunable=1
check_eq "unknown key: exit 2" 2 "$RC"
check "unknown key: named" grep -q "no-such-tunable" "$ERR"
check_eq "all or nothing: npages-max unchanged" 2000 "$(tunable npages-max)"
run "$KSMCTL" set npages-max=lots
check "non-integer value: refused" test "$RC" != 0
check "non-integer value: names the key" grep -q "npages-max" "$ERR"
check_eq "non-integer value: nothing changed" 2000 "$(tunable npages-max)"
t_end

t_begin "inhibit: the hold lasts while COMMAND runs; ksmctl exits with its status"
# shellcheck disable=SC2016 # expanded by the command's shell
HOLD_CMD='busctl --system call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager ListInhibitors > "$1/held"
echo $PPID > "$1/ppid"; cat "$1/sys/run" > "$1/run-during"; exit 7'
run "$KSMCTL" inhibit --what=merge --why="migrating $TAG" -- sh -c "$HOLD_CMD" sh "$T"
check_eq "exit status is the command's" 7 "$RC"
check "the hold was listed while the command ran" grep -q "^a(sssuut) 1 \"merge\" \"ksmctl\" \"migrating $TAG\" " "$T/held"
check_eq "the hold belongs to ksmctl (the command's parent)" "$(cat "$T/ppid")" "$(awk '{print $7}' "$T/held")"
check_eq "merge hold: run=0 while the command ran" 0 "$(cat "$T/run-during")"
check "the hold is gone after" wait_for 5 no_inhibitors
# shellcheck disable=SC2016 # expanded by the command's shell
run "$KSMCTL" inhibit --what=retune --who=migrator --why="no retune" -- sh -c \
        'busctl --system call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager ListInhibitors > "$0/held"
        '"'$KSMCTL'"' retune 2> "$0/retune-err"; echo $? > "$0/retune-rc"' "$T"
check_eq "retune hold: exit status 0" 0 "$RC"
check "retune hold: listed with --who" grep -q "^a(sssuut) 1 \"retune\" \"migrator\" \"no retune\" " "$T/held"
check_eq "retune while held: refused, exit 2" 2 "$(cat "$T/retune-rc")"
check_eq "retune while held: one line" 1 "$(lines "$T/retune-err")"
check "gone after" wait_for 5 no_inhibitors
run "$KSMCTL" inhibit --what=merge --why=signal -- sh -c 'kill -TERM $$'
check_eq "command killed by SIGTERM: 128+15" 143 "$RC"
run "$KSMCTL" inhibit --what=merge --why=true -- true
check_eq "command succeeds: 0" 0 "$RC"
run "$KSMCTL" inhibit --what=sideways --why=bad -- touch "$WORK/ran-bad"
check_eq "bad --what: refused, exit 2" 2 "$RC"
check "bad --what: the command did not run" test ! -e "$WORK/ran-bad"
check "no hold left behind" wait_for 5 no_inhibitors
t_end

if [ "$HAVE_NOBODY" = 1 ]; then
        t_begin "unprivileged user with the daemon (shipped policy): reads work, control exits 5"
        as_nobody "$KSMCTL" status > "$OUT" 2> "$ERR"
        check_eq "status: exit status" 0 $?
        check "status: from the daemon" grep -q "^Driven by: *ksmtuned $VERSION" "$OUT"
        as_nobody "$KSMCTL" status --json > "$OUT" 2> "$ERR"
        check "status --json: from the daemon" jcheck "$OUT" "assert d['source'] == 'daemon'
assert d['pages_sharing'] == E['sharing']"
        as_nobody "$KSMCTL" vms --json > "$OUT" 2> "$ERR"
        check "vms --json: our VMs, ksm_stat figures through the daemon" jcheck "$OUT" "VMS = d
$CHECK_OURS"
        as_nobody "$KSMCTL" metrics > "$OUT" 2> "$ERR"
        check_eq "metrics: ksmtuned_up" 1 "$(metric "$OUT" ksmtuned_up)"
        for cmd in "set npages-max=10" "retune" "inhibit --what=merge --why=x -- touch $WORK/ran-nobody"; do
                # shellcheck disable=SC2086
                as_nobody "$KSMCTL" $cmd > "$OUT" 2> "$ERR"
                check_eq "$cmd: exit status" 5 $?
                check_eq "$cmd: one line" 1 "$(lines "$ERR")"
                check "$cmd: says permission denied" grep -q "permission denied" "$ERR"
        done
        check_eq "set refused: npages-max unchanged" 2000 "$(tunable npages-max)"
        check "inhibit refused: the command did not run" test ! -e "$WORK/ran-nobody"
        t_end
else
        t_skip "unprivileged user with the daemon" "$WHY_NO_NOBODY"
fi

t_begin "a VM name that is not UTF-8 does not cut ksmctl off the daemon"
start_vm "$TAG-"$'\xff\xfe' 4
vm_bad=$VM
cycle "$T" || echo "  (no decision logged)" >&2
run "$KSMCTL" status --vms --json
check_eq "status --vms --json: exit status" 0 "$RC"
check_eq "status --vms --json: nothing on stderr" "" "$(cat "$ERR")"
check "status --vms --json: still from the daemon, the VM listed" jcheck "$OUT" "assert d['status']['source'] == 'daemon', d['status']['source']
assert any(v['pid'] == $vm_bad for v in d['vms']), 'VM with a non-UTF-8 name missing'"
run "$KSMCTL" vms
check_eq "vms: nothing on stderr" "" "$(cat "$ERR")"
kill -TERM "$vm_bad"
wait "$vm_bad" 2> /dev/null
t_end

t_begin "old kernel (no general_profit, no ksm_zero_pages): the daemon and sysfs agree"
stop_daemon
new_tree dmn-old old
start_daemon "$T" || { cat "$T/stderr" >&2; }
run "$KSMCTL" status --json
check "from the daemon" jcheck "$OUT" "assert d['source'] == 'daemon'"
cp "$OUT" "$WORK/status-daemon-old.json"
check "same general_profit_bytes and zero_pages as from sysfs (null and 0)" python3 - "$WORK/status-daemon-old.json" "$WORK/status-sysfs-old.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
diff = {k: (a[k], b[k]) for k in ("general_profit_bytes", "zero_pages", "saved_bytes") if a[k] != b[k]}
if diff:
    print("    daemon vs sysfs (daemon, sysfs): %s" % diff, file=sys.stderr)
    sys.exit(1)
PY
run "$KSMCTL" metrics
check "metrics: no ksm_general_profit_bytes sample, as without the daemon" bash -c "! grep -q '^ksm_general_profit_bytes' '$OUT'"
run "$KSMCTL" status
check "human: no general profit claimed, as without the daemon" bash -c "! grep -q 'general profit' '$OUT'"
check "human: no zero pages claimed, as without the daemon" bash -c "! grep -q 'zero pages' '$OUT'"
t_end

t_begin "daemon gone: control verbs exit 3, reading falls back to sysfs"
stop_daemon
T=$WORK/nod
run "$KSMCTL" retune
check_eq "retune: exit 3" 3 "$RC"
check_eq "retune: one line" 1 "$(lines "$ERR")"
run "$KSMCTL" status --sysfs-dir "$T/sys" --proc-dir "$T/proc"
check_eq "status: exit 0" 0 "$RC"
check "status: says sysfs" grep -q "figures from sysfs" "$OUT"
t_end

check_man_page
t_summary

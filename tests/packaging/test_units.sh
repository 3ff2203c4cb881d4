#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd units and the install tree, checked offline (no systemd as PID 1):
#   (a) "cmake --install --prefix /usr" into a DESTDIR installs exactly the
#       expected files, the units run the installed binaries, and a second
#       install keeps edited configuration files;
#   (b) "systemd-analyze verify" accepts the installed units, silently;
#   (c) "systemd-analyze security --offline" rates ksmtuned.service (and
#       ksm.service) at an exposure of 2.0 or less, and the sandbox still
#       grants what the daemon needs;
#   (d) the daemon, run under strace for a few cycles (signals, notify,
#       watchdog, LOGFILE, a VM process, D-Bus calls where dbus-daemon is
#       installed), only makes system calls the unit's SystemCallFilter=
#       allows, or ones it survives being refused with EPERM.
# Nothing outside temporary directories is touched; no root needed.
#
# usage: test_units.sh BUILD_DIR SOURCE_DIR
set -u

BUILD=$(cd "${1:?usage: test_units.sh BUILD_DIR SOURCE_DIR}" && pwd) || exit 1
SRC=$(cd "${2:?usage: test_units.sh BUILD_DIR SOURCE_DIR}" && pwd) || exit 1
. "$SRC/tests/lib/testlib.sh"

MAX_EXPOSURE=2.0

if ! command -v systemd-analyze > /dev/null 2>&1; then
        echo "SKIP: systemd-analyze is not installed (apt-get install systemd)"
        exit 77
fi
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        echo "FAIL: $BUILD is not a CMake build directory"
        exit 1
fi

WORK=$(mktemp -d /tmp/ksmt-units.XXXXXX)
chmod 755 "$WORK"
DAEMON_PID=""
cleanup() {
        if [ -n "$DAEMON_PID" ]; then
                pkill -KILL -P "$DAEMON_PID" 2> /dev/null
                kill -KILL "$DAEMON_PID" 2> /dev/null
        fi
        [ "$(type -t bus_stop)" = function ] && bus_stop
        jobs -p | xargs -r kill 2> /dev/null
        wait 2> /dev/null
        rm -rf "$WORK"
}
trap cleanup EXIT

# cache VAR DEFAULT: a value from the build's CMake cache.
cache() {
        local v
        v=$(sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt" | head -n 1)
        echo "${v:-$2}"
}
# under_prefix DIR: DIR as installed with --prefix /usr.
under_prefix() {
        case "$1" in
        /*) echo "${1#/}" ;;
        *) echo "usr/$1" ;;
        esac
}

UNIT_DIR=$(under_prefix "$(cache SYSTEMD_SYSTEM_UNIT_DIR /lib/systemd/system)")
SBIN=$(under_prefix "$(cache CMAKE_INSTALL_SBINDIR sbin)")
MAN=$(under_prefix "$(cache CMAKE_INSTALL_MANDIR share/man)")
DOC=$(under_prefix "$(cache CMAKE_INSTALL_DOCDIR share/doc/ksmtuned)")
DBUS_POLICY=$(under_prefix "$(cache DBUS_SYSTEM_POLICY_DIR share/dbus-1/system.d)")
DBUS_SERVICE=$(under_prefix "$(cache DBUS_SYSTEM_SERVICE_DIR share/dbus-1/system-services)")

ROOT=$WORK/root
install_tree() {
        DESTDIR=$ROOT cmake --install "$BUILD" --prefix /usr > "$WORK/install.log" 2>&1
}

# ---------------------------------------------------------------------------
t_begin "install: exact file list under --prefix /usr"
check "cmake --install succeeds" install_tree || sed 's/^/    /' "$WORK/install.log" >&2
expected=$(sort << EOF
etc/default/ksm
etc/ksmtuned.conf
etc/logrotate.d/ksmtuned
$UNIT_DIR/ksm.service
$UNIT_DIR/ksmtuned.service
$SBIN/ksmctl
$SBIN/ksmtuned
$DBUS_SERVICE/org.ksmtuned1.service
$DBUS_POLICY/org.ksmtuned1.conf
$DOC/ksmtuned.cfg.example
$MAN/man5/ksmtuned.conf.5
$MAN/man5/org.ksmtuned1.5
$MAN/man8/ksmctl.8
$MAN/man8/ksmtuned.8
EOF
)
actual=$(cd "$ROOT" 2> /dev/null && find . ! -type d | sed 's|^\./||' | sort)
if [ "$expected" != "$actual" ]; then
        echo "  FAIL [$T_CURRENT] installed files differ (- expected, + installed):" >&2
        diff <(echo "$expected") <(echo "$actual") | grep '^[<>]' | sed 's/^</    -/; s/^>/    +/' >&2
        T_CURRENT_FAILED=1
fi
for f in "$SBIN/ksmtuned" "$SBIN/ksmctl"; do
        check "$f is executable" test -x "$ROOT/$f"
done
check "/etc/ksmtuned.conf is conf/ksmtuned.conf" cmp -s "$SRC/conf/ksmtuned.conf" "$ROOT/etc/ksmtuned.conf"
check "/etc/default/ksm is conf/default-ksm" cmp -s "$SRC/conf/default-ksm" "$ROOT/etc/default/ksm"
check "/etc/logrotate.d/ksmtuned is conf/ksmtuned.logrotate" \
        cmp -s "$SRC/conf/ksmtuned.logrotate" "$ROOT/etc/logrotate.d/ksmtuned"
t_end

# ---------------------------------------------------------------------------
t_begin "install: the units run the installed binaries"
no_template_vars() { ! grep -q '@[A-Z_]*@' "$1"; }
# exec_paths UNIT: the programs of its Exec*= lines.
exec_paths() {
        sed -n 's/^Exec[A-Za-z]*=[-@+!:]*\([^ ]*\).*/\1/p' "$ROOT/$UNIT_DIR/$1"
}
for u in ksmtuned.service ksm.service; do
        if [ ! -f "$ROOT/$UNIT_DIR/$u" ]; then
                check "$u installed" false
                continue
        fi
        check "$u has no unconfigured @VAR@" no_template_vars "$ROOT/$UNIT_DIR/$u"
        for p in $(exec_paths "$u"); do
                case "$p" in
                /usr/sbin/ksm*) check "$u: $p is installed" test -x "$ROOT$p" ;;
                /*) ;; # /bin/kill: checked by systemd-analyze verify below
                *) check "$u: $p is an absolute path" false ;;
                esac
        done
done
check_eq "ksmtuned.service ExecStart" "ExecStart=/usr/sbin/ksmtuned --foreground" \
        "$(grep '^ExecStart=' "$ROOT/$UNIT_DIR/ksmtuned.service" 2> /dev/null)"
check_eq "ksm.service ExecStart" "ExecStart=/usr/sbin/ksmctl start" \
        "$(grep '^ExecStart=' "$ROOT/$UNIT_DIR/ksm.service" 2> /dev/null)"
check_eq "ksm.service ExecStop" "ExecStop=/usr/sbin/ksmctl stop" \
        "$(grep '^ExecStop=' "$ROOT/$UNIT_DIR/ksm.service" 2> /dev/null)"
t_end

# ---------------------------------------------------------------------------
t_begin "install: a second install keeps edited configuration"
EDIT="KSM_THRES_COEF=37 # operator's edit, test_units.sh"
for f in etc/ksmtuned.conf etc/default/ksm etc/logrotate.d/ksmtuned; do
        [ -f "$ROOT/$f" ] && echo "# edited: $EDIT" >> "$ROOT/$f"
done
echo "$EDIT" >> "$ROOT/etc/ksmtuned.conf"
cp "$ROOT/etc/ksmtuned.conf" "$WORK/edited.conf"
rm -f "$ROOT/$SBIN/ksmtuned" # a file that is not configuration comes back
check "second cmake --install succeeds" install_tree
check "edited /etc/ksmtuned.conf kept" cmp -s "$WORK/edited.conf" "$ROOT/etc/ksmtuned.conf"
for f in etc/default/ksm etc/logrotate.d/ksmtuned; do
        check "edited /$f kept" grep -q "^# edited: " "$ROOT/$f"
done
check "install log says it kept /etc/ksmtuned.conf" grep -q "Keeping existing: .*/etc/ksmtuned.conf" "$WORK/install.log"
check "$SBIN/ksmtuned reinstalled" test -x "$ROOT/$SBIN/ksmtuned"
t_end
# A clean tree again for what follows.
rm -rf "$ROOT"
install_tree

# ---------------------------------------------------------------------------
# systemd-analyze verify loads the units from the real host (sysinit.target
# and friends come from there), so the copies it checks run the binaries
# from the DESTDIR; their man pages are looked up there too.
t_begin "systemd-analyze verify: installed units, no complaint"
mkdir -p "$WORK/verify"
for u in ksmtuned.service ksm.service; do
        sed "s#^\(Exec[A-Za-z]*=[-@+!:]*\)/usr/sbin/#\1$ROOT/usr/sbin/#" "$ROOT/$UNIT_DIR/$u" > "$WORK/verify/$u"
done
man_opt=--man=yes
command -v man > /dev/null 2>&1 || man_opt=--man=no
out=$(MANPATH=$ROOT/$MAN systemd-analyze verify "$man_opt" "$WORK/verify/ksmtuned.service" \
        "$WORK/verify/ksm.service" 2>&1)
rc=$?
check_eq "verify exit status" 0 "$rc"
if [ -n "$out" ]; then
        echo "  FAIL [$T_CURRENT] verify printed:" >&2
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        T_CURRENT_FAILED=1
fi
[ "$man_opt" = --man=no ] && echo "  (man is not installed: Documentation= not checked)"
t_end

# ---------------------------------------------------------------------------
threshold=$(awk -v e="$MAX_EXPOSURE" 'BEGIN { printf "%d", e * 10 + 0.5 }')
for u in ksmtuned.service ksm.service; do
        t_begin "systemd-analyze security: $u exposure <= $MAX_EXPOSURE"
        out=$(systemd-analyze security --offline=yes --threshold="$threshold" "$ROOT/$UNIT_DIR/$u" 2>&1)
        rc=$?
        level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        echo "  $u: exposure ${level:-?}"
        check "an exposure level is printed" test -n "$level"
        check_eq "exit status with --threshold=$threshold" 0 "$rc"
        if [ -n "$level" ]; then
                check "$level <= $MAX_EXPOSURE" awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'
        fi
        t_end
done

# ---------------------------------------------------------------------------
# A score can be lowered by taking away what the daemon needs; these must
# stay (see the comments in systemd/ksmtuned.service.in).
t_begin "ksmtuned.service: the sandbox keeps what the daemon needs"
unit=$ROOT/$UNIT_DIR/ksmtuned.service
# values KEY: every value of KEY=, one per line, in order.
values() { sed -n "s/^$1=//p" "$unit"; }
has_word() { values "$1" | tr ' ' '\n' | grep -qx -- "$2"; }
# lacks ERE: no line of the unit matches.
lacks() { ! grep -Eq -- "$1" "$unit"; }
reload_sends_usr1() { [[ "$(values ExecReload)" == *"kill -USR1 \$MAINPID"* ]]; }
check_eq "Type" notify "$(values Type)"
check_eq "BusName" org.ksmtuned1 "$(values BusName)"
check_eq "Restart" on-failure "$(values Restart)"
check "WatchdogSec= set" test -n "$(values WatchdogSec)"
check "ExecReload= sends SIGUSR1 (retune, as the stock unit)" reload_sends_usr1
check "ReadWritePaths= reopens /sys/kernel/mm/ksm" has_word ReadWritePaths /sys/kernel/mm/ksm
check "AF_NETLINK allowed (process events)" has_word RestrictAddressFamilies AF_NETLINK
check "AF_UNIX allowed (D-Bus, notify, journal)" has_word RestrictAddressFamilies AF_UNIX
check "CAP_NET_ADMIN kept (process events)" has_word CapabilityBoundingSet CAP_NET_ADMIN
check "CAP_DAC_READ_SEARCH kept (ksm_stat of other users' VMs)" has_word CapabilityBoundingSet CAP_DAC_READ_SEARCH
check "no PrivateNetwork= (process events reach the host namespace only)" lacks "^PrivateNetwork=(yes|true|1|on)"
check "no PrivateUsers=" lacks "^PrivateUsers=(yes|true|1|on|self|identity)"
check "no DynamicUser= / User= (root writes the KSM knobs)" lacks "^(DynamicUser=(yes|true|1|on)|User=)"
check "no ProtectProc= (would hide the VM processes)" lacks "^ProtectProc=(invisible|noaccess|ptraceable)"
check "no ProcSubset=pid (would hide /proc/meminfo)" lacks "^ProcSubset=pid"
check "Requires=ksm.service" has_word Requires ksm.service
check "After=ksm.service" has_word After ksm.service
t_end

# ---------------------------------------------------------------------------
# (d) System calls. The groups are expanded with systemd-analyze itself, so
# the allowed set is the one this systemd would build from the unit.
expand_groups() {
        local g s
        for g in "$@"; do
                case "$g" in
                @*)
                        systemd-analyze syscall-filter "$g" 2> /dev/null | sed -e 's/^ *//' -e '/^#/d' -e '/^$/d' |
                                tail -n +2 | while read -r s; do
                                case "$s" in
                                @*) expand_groups "$s" ;;
                                *) echo "$s" ;;
                                esac
                        done
                        ;;
                *) echo "$g" ;;
                esac
        done
}
# allowed_syscalls UNIT: the calls SystemCallFilter= lets through (an
# allow list, minus the ~ lines; a reset empty line starts over).
allowed_syscalls() {
        local allow=() deny=() line
        while IFS= read -r line; do
                case "$line" in
                "") allow=() deny=() ;;
                "~"*) read -r -a w <<< "${line#\~}" && deny+=("${w[@]}") ;;
                *) read -r -a w <<< "$line" && allow+=("${w[@]}") ;;
                esac
        done < <(sed -n 's/^SystemCallFilter=//p' "$1")
        comm -23 <(expand_groups "${allow[@]}" | sort -u) <(expand_groups "${deny[@]}" | sort -u)
}

# run_traced OUT_DIR [STRACE_OPTION...]: the installed daemon under strace
# against temporary sysfs/proc trees; 0 when it started, adjusted several
# times and exited 0 on SIGTERM.
run_traced() {
        local out=$1 w i vm=""
        shift
        w=$out/tree
        mkdir -p "$w/sys" "$w/proc"
        for i in run pages_to_scan sleep_millisecs; do echo 0 > "$w/sys/$i"; done
        write_meminfo "$w/proc/meminfo" 16000000 100000 0 0
        printf 'DEBUG=1\nKSM_MONITOR_INTERVAL=1\nLOGFILE=%s/log\n' "$w" > "$w/conf"
        printf 'vm_rescan_interval_sec = 2;\n' > "$w/cfg"
        if command -v python3 > /dev/null 2>&1; then
                python3 "$SRC/tests/helpers/notify_listen.py" "$w/notify" "$w/notify.out" &
                wait_for 5 test -S "$w/notify"
        fi
        if [ -x "$BUILD/tests/helpers/fake_vm" ]; then
                ln -sf "$BUILD/tests/helpers/fake_vm" "$w/qemu-system-x86_64"
                "$w/qemu-system-x86_64" -m 32 -enable-kvm &
                vm=$!
        fi
        NOTIFY_SOCKET=$w/notify WATCHDOG_USEC=1000000 \
                strace -f -qq -o "$out/trace" "$@" \
                "$ROOT/$SBIN/ksmtuned" --foreground -c "$w/conf" --settings "$w/cfg" \
                --sysfs-dir "$w/sys" --proc-dir "$w/proc" 2> "$out/stderr" &
        DAEMON_PID=$!
        wait_for 10 grep -qs "running: policy" "$out/stderr" || return 1
        sleep 1.3
        for i in 1 2 3; do
                pkill -USR1 -P "$DAEMON_PID" -x ksmtuned
                sleep 0.3
        done
        pkill -HUP -P "$DAEMON_PID" -x ksmtuned
        sleep 0.5
        if [ -n "${DBUS_SYSTEM_BUS_ADDRESS:-}" ] && wait_for 6 bus_has_name org.ksmtuned1; then
                busctl --system introspect org.ksmtuned1 /org/ksmtuned1 > /dev/null
                busctl --system call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager GetStatistics > /dev/null
                busctl --system call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager Retune
                busctl --system call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager Assess 'ta{sv}' 1048576 0 > /dev/null
                busctl --system call org.ksmtuned1 /org/ksmtuned1 org.ksmtuned1.Manager ListInhibitors > /dev/null
                busctl --system call org.ksmtuned1 /org/ksmtuned1 \
                        org.freedesktop.DBus.ObjectManager GetManagedObjects > /dev/null
                "$ROOT/$SBIN/ksmctl" status > /dev/null 2>&1
        fi
        [ -n "$vm" ] && kill "$vm" && wait "$vm" 2> /dev/null
        sleep 2.5 # a VM exit event, a rescan, more cycles
        pkill -TERM -P "$DAEMON_PID" -x ksmtuned
        wait "$DAEMON_PID"
        i=$?
        DAEMON_PID=""
        jobs -p | xargs -r kill 2> /dev/null
        wait 2> /dev/null
        [ "$i" = 0 ] || return 1
        [ "$(count_lines "$out/stderr" 'decision: ')" -ge 4 ] || return 1
        [ "$(cat "$w/sys/run")" = 1 ]
}

used_syscalls() {
        sed -n 's/^[0-9][0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$1" | sort -u
}

if ! command -v strace > /dev/null 2>&1; then
        t_skip "system calls" "strace is not installed (apt-get install strace)"
elif ! strace -f -qq -o /dev/null true 2> /dev/null; then
        t_skip "system calls" "strace cannot trace here (ptrace refused)"
else
        if command -v dbus-daemon > /dev/null 2>&1 && command -v busctl > /dev/null 2>&1; then
                . "$SRC/tests/dbus/bus.sh"
                bus_start "$WORK/bus" permissive || unset DBUS_SYSTEM_BUS_ADDRESS
        else
                echo "  (dbus-daemon or busctl missing: the D-Bus calls are left out)"
        fi

        t_begin "system calls: the daemon needs none the unit refuses, or survives EPERM"
        allowed_syscalls "$ROOT/$UNIT_DIR/ksmtuned.service" > "$WORK/allowed"
        check "SystemCallFilter= allows something" test -s "$WORK/allowed"
        mkdir -p "$WORK/run1"
        if ! run_traced "$WORK/run1"; then
                check "traced daemon ran and adjusted (see below)" false
                sed 's/^/    /' "$WORK/run1/stderr" | tail -n 20 >&2
        fi
        used_syscalls "$WORK/run1/trace" > "$WORK/used"
        refused=$(comm -23 "$WORK/used" "$WORK/allowed" | paste -s -d ' ')
        echo "  $(wc -l < "$WORK/used") distinct system calls used; refused by the unit: ${refused:-none}"
        if [ -n "$refused" ]; then
                # What systemd would do with SystemCallErrorNumber=EPERM.
                check_eq "SystemCallErrorNumber=" EPERM "$(sed -n 's/^SystemCallErrorNumber=//p' "$ROOT/$UNIT_DIR/ksmtuned.service")"
                mkdir -p "$WORK/run2"
                if ! run_traced "$WORK/run2" -e "inject=${refused// /,}:error=EPERM"; then
                        check "daemon survives EPERM from: $refused" false
                        sed 's/^/    /' "$WORK/run2/stderr" | tail -n 20 >&2
                fi
                check "strace injected EPERM" grep -q "(INJECTED)" "$WORK/run2/trace"
        fi
        t_end
fi

t_summary

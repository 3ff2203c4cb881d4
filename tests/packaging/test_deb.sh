#!/bin/bash
# The Debian package, built and installed on this machine:
#   1. builds ksmtuned_*.deb from a copy of the source tree (dpkg-buildpackage);
#   2. maintainer-script logic, with stub systemd tools: first installation
#      starts both units, an upgrade never starts or restarts ksm.service
#      (that would write run=1), removal stops both;
#   3. installs Debian's own ksmtuned package, edits /etc/ksmtuned.conf and
#      disables ksm.service as an operator would, then upgrades to ours with
#      apt (an upgrade, not a downgrade: the epoch) and --force-confold: the
#      edit survives, ksm.service stays disabled, ksmtuned --version is ours;
#   4. purges it: every file, the conffiles and the unit links are gone;
#   5. installs ours on a clean machine: units enabled, group created;
#      remove keeps the conffiles, purge removes them.
# Services are never started: a temporary /usr/sbin/policy-rc.d answers 101.
# The machine is left as found: ksmtuned's package state and files, the
# "ksmtuned" group, policy-rc.d (restored on failure too). Build
# dependencies it had to install stay installed.
#
# Usage: test_deb.sh SOURCE_DIR
# KSMT_STOCK_DEB=FILE uses that Debian ksmtuned .deb instead of downloading.
# Exit 77 (skipped) without root, off Debian, when the build tools cannot
# be installed, when Debian's package cannot be had, or when ksmtuned is
# installed here in a state this test cannot put back.
set -uo pipefail

SRC=$(cd "${1:?usage: $0 SOURCE_DIR}" && pwd) || exit 1
. "$SRC/tests/lib/testlib.sh"

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (installs and purges packages)"
        exit 77
fi
if ! command -v dpkg > /dev/null || ! command -v apt-get > /dev/null; then
        echo "SKIP: not a dpkg/apt system"
        exit 77
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o DPkg::Lock::Timeout=120 --no-install-recommends)
POLICY=/usr/sbin/policy-rc.d
GROUP=ksmtuned
CONF=/etc/ksmtuned.conf
EDIT="KSM_THRES_COEF=37 # edited by test_deb.sh"

pkg_state() { dpkg-query -W -f='${db:Status-Status}' "$1" 2> /dev/null || echo not-installed; }
group_exists() { getent group "$GROUP" > /dev/null; }
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2> /dev/null; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ksmt-deb.XXXXXX")
chmod 755 "$WORK" # apt-get download runs as _apt

# ---------------------------------------------------------------------------
# What is here before: refuse what cannot be put back, before touching it.

PRIOR_STATE=$(pkg_state ksmtuned)
PRIOR_VERSION=$(pkg_version ksmtuned)
case "$PRIOR_STATE" in
not-installed | installed) ;;
*)
        echo "SKIP: ksmtuned is in dpkg state '$PRIOR_STATE' here; this test only runs where it is absent or Debian's is installed"
        rm -rf "$WORK"
        exit 77
        ;;
esac
if [ "$(pkg_state ksm-control-daemon)" != not-installed ]; then
        echo "SKIP: ksm-control-daemon is installed here; the test would remove it"
        rm -rf "$WORK"
        exit 77
fi

# The files and unit state of an installed ksmtuned, saved to put back.
SNAPSHOT_PATHS=(/etc/ksmtuned.conf /etc/default/ksm /etc/logrotate.d/ksmtuned /etc/ksmtuned
                /etc/systemd/system/multi-user.target.wants/ksm.service
                /etc/systemd/system/multi-user.target.wants/ksmtuned.service
                /var/lib/systemd/deb-systemd-helper-enabled/ksm.service.dsh-also
                /var/lib/systemd/deb-systemd-helper-enabled/ksmtuned.service.dsh-also
                /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/ksm.service
                /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/ksmtuned.service
                /var/lib/systemd/deb-systemd-helper-masked/ksm.service
                /var/lib/systemd/deb-systemd-helper-masked/ksmtuned.service)
snapshot_save() {
        local p existing=()
        for p in "${SNAPSHOT_PATHS[@]}"; do
                if [ -e "$p" ] || [ -L "$p" ]; then existing+=("${p#/}"); fi
        done
        tar -C / -cpf "$WORK/snapshot.tar" --files-from=/dev/null "${existing[@]}"
}
snapshot_restore() {
        local p
        for p in "${SNAPSHOT_PATHS[@]}"; do rm -rf "$p"; done
        tar -C / -xpf "$WORK/snapshot.tar"
}

PRIOR_GROUP=$(getent group "$GROUP")
PRIOR_GID=$(echo "$PRIOR_GROUP" | cut -d: -f3)
GROUP_REMOVED=0 # a pre-existing group taken away to see postinst create it

PRIOR_POLICY=0
if [ -e "$POLICY" ] || [ -L "$POLICY" ]; then
        cp -a "$POLICY" "$WORK/policy-rc.d.saved"
        PRIOR_POLICY=1
fi

TOUCHED=0 # set once this machine's packages, group or policy-rc.d change
cleanup() {
        trap - EXIT INT TERM
        if [ "$TOUCHED" = 0 ]; then
                rm -rf "$WORK"
                return
        fi
        # Our package off, Debian's back if it was there, its files as found.
        if [ "$(pkg_state ksmtuned)" != not-installed ]; then
                dpkg --purge ksmtuned > "$WORK/cleanup.log" 2>&1 ||
                        echo "cleanup: dpkg --purge ksmtuned failed, see $WORK/cleanup.log" >&2
        fi
        if [ "$PRIOR_STATE" = installed ] && [ -n "${STOCK_DEB:-}" ]; then
                dpkg -i --force-confold "$STOCK_DEB" > "$WORK/cleanup.log" 2>&1 ||
                        echo "cleanup: reinstalling ksmtuned $PRIOR_VERSION failed" >&2
                snapshot_restore
        fi
        # The group: as found.
        if [ -z "$PRIOR_GROUP" ]; then
                getent group "$GROUP" > /dev/null && groupdel "$GROUP"
        elif ! getent group "$GROUP" > /dev/null; then
                groupadd --system -g "$PRIOR_GID" "$GROUP"
        elif [ "$GROUP_REMOVED" = 1 ] && [ "$(getent group "$GROUP" | cut -d: -f3)" != "$PRIOR_GID" ]; then
                groupdel "$GROUP" && groupadd --system -g "$PRIOR_GID" "$GROUP"
        fi
        rm -f "$POLICY"
        [ "$PRIOR_POLICY" = 1 ] && cp -a "$WORK/policy-rc.d.saved" "$POLICY"
        if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------------------
# Tools and build dependencies (installed when missing; skip if impossible).

APT_UPDATED=0
apt_update_once() {
        [ "$APT_UPDATED" = 1 ] && return 0
        APT_UPDATED=1
        apt-get update -qq > "$WORK/apt-update.log" 2>&1
}

# A copy of the tree as it is (tracked and untracked files, no build output).
mkdir -p "$WORK/src"
if git -C "$SRC" rev-parse --git-dir > /dev/null 2>&1; then
        git -C "$SRC" ls-files -z --cached --others --exclude-standard |
                (cd "$SRC" && tar --null -T - --ignore-failed-read -cf - 2> /dev/null) |
                tar -C "$WORK/src" -xf -
else
        tar -C "$SRC" -cf - --exclude=./.git --exclude='./build*' . | tar -C "$WORK/src" -xf -
fi
rm -rf "$WORK"/src/obj-* "$WORK"/src/debian/ksmtuned "$WORK"/src/debian/tmp \
        "$WORK"/src/debian/.debhelper "$WORK"/src/debian/files "$WORK"/src/debian/*.substvars \
        "$WORK"/src/debian/*.debhelper.log "$WORK"/src/debian/debhelper-build-stamp

if ! command -v dpkg-buildpackage > /dev/null; then
        apt_update_once
        if ! apt-get install "${APT_OPTS[@]}" dpkg-dev > "$WORK/apt.log" 2>&1; then
                echo "SKIP: dpkg-dev (dpkg-buildpackage) is missing and cannot be installed"
                exit 77
        fi
fi
# Without cmocka, build without the unit tests (the nocheck profile).
PROFILE=()
if ! dpkg-query -W -f='${db:Status-Status}' libcmocka-dev 2> /dev/null | grep -qx installed; then
        PROFILE=(-Pnocheck)
        export DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}"
fi
if ! (cd "$WORK/src" && dpkg-checkbuilddeps "${PROFILE[@]}" > /dev/null 2>&1); then
        apt_update_once
        if ! (cd "$WORK/src" && apt-get build-dep "${APT_OPTS[@]}" "${PROFILE[@]}" ./ > "$WORK/apt.log" 2>&1); then
                echo "SKIP: the build dependencies (debian/control) are missing and cannot be installed:"
                (cd "$WORK/src" && dpkg-checkbuilddeps "${PROFILE[@]}" 2>&1)
                exit 77
        fi
fi

# Debian's ksmtuned package: given, already in apt's cache, or downloaded.
stock_ok() {
        # A Debian ksmtuned, i.e. the shell script, not a build of ours.
        [ -f "$1" ] && [ "$(dpkg-deb -f "$1" Package 2> /dev/null)" = ksmtuned ] &&
                dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/sbin/ksmtuned 2> /dev/null | head -c 2 | grep -q '#!'
}
STOCK_DEB=""
if [ -n "${KSMT_STOCK_DEB:-}" ]; then
        stock_ok "$KSMT_STOCK_DEB" && STOCK_DEB=$(realpath "$KSMT_STOCK_DEB")
else
        (cd "$WORK" && apt-get download -q ksmtuned > "$WORK/download.log" 2>&1) ||
                { apt_update_once && (cd "$WORK" && apt-get download -q ksmtuned >> "$WORK/download.log" 2>&1); }
        for f in "$WORK"/ksmtuned_*.deb; do stock_ok "$f" && STOCK_DEB=$f; done
fi
if [ -z "$STOCK_DEB" ]; then
        echo "SKIP: cannot get Debian's ksmtuned package (apt-get download ksmtuned; or set KSMT_STOCK_DEB)"
        cat "$WORK/download.log" 2> /dev/null
        exit 77
fi
STOCK_VERSION=$(dpkg-deb -f "$STOCK_DEB" Version)
if [ "$PRIOR_STATE" = installed ] && [ "$PRIOR_VERSION" != "$STOCK_VERSION" ]; then
        echo "SKIP: ksmtuned $PRIOR_VERSION is installed here, and only $STOCK_VERSION could be had to put it back"
        exit 77
fi
[ "$PRIOR_STATE" = installed ] && snapshot_save

# From here on services must not start, whatever init runs.
TOUCHED=1
printf '#!/bin/sh\n# test_deb.sh (ksmtuned): no service starts during the test\nexit 101\n' > "$POLICY"
chmod 755 "$POLICY"

# ---------------------------------------------------------------------------
t_begin "build: dpkg-buildpackage -b"
CHANGELOG_VERSION=$(cd "$WORK/src" && dpkg-parsechangelog -S Version)
PROJECT_VERSION=$(sed -n 's/^project(ksmtuned VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
(cd "$WORK/src" && dpkg-buildpackage -us -uc -b "${PROFILE[@]}" -j"$(nproc)") > "$WORK/build.log" 2>&1
rc=$?
check "dpkg-buildpackage exits 0 (log: $WORK/build.log)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -40 "$WORK/build.log" >&2
DEB="$WORK/ksmtuned_${CHANGELOG_VERSION#*:}_$(dpkg --print-architecture).deb"
check "the .deb was built: ${DEB##*/}" [ -f "$DEB" ]
check_eq "debian/changelog's upstream version is the project's" "$PROJECT_VERSION" \
        "$(echo "$CHANGELOG_VERSION" | sed 's/^[0-9]*://; s/-[^-]*$//')"
check "our version $CHANGELOG_VERSION sorts above Debian's $STOCK_VERSION" \
        dpkg --compare-versions "$CHANGELOG_VERSION" gt "$STOCK_VERSION"
t_end
if [ ! -f "$DEB" ]; then
        t_summary
        exit 1
fi
check_eq_deb_field() { check_eq "$1" "$2" "$(dpkg-deb -f "$DEB" "$3")"; }

t_begin "package metadata"
check_eq_deb_field "Version" "$CHANGELOG_VERSION" Version
for rel in Conflicts Replaces Provides; do
        check_eq_deb_field "$rel" ksm-control-daemon "$rel"
done
check "conffiles list /etc/ksmtuned.conf and /etc/default/ksm" \
        bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xOf - ./conffiles | grep -qx /etc/ksmtuned.conf &&
                 dpkg-deb --ctrl-tarfile '$DEB' | tar -xOf - ./conffiles | grep -qx /etc/default/ksm"
t_end

# ---------------------------------------------------------------------------
# Maintainer scripts with stub systemd tools: run as on a systemd machine
# (their /run/systemd/system test pointed at a directory of ours), nothing
# real is called.
mkdir -p "$WORK/ctl" "$WORK/stub" "$WORK/fakerun/systemd/system"
dpkg-deb -e "$DEB" "$WORK/ctl"
for tool in deb-systemd-invoke deb-systemd-helper systemctl addgroup getent; do
        cat > "$WORK/stub/$tool" << EOF
#!/bin/sh
echo "$tool \$*" >> "$WORK/calls.log"
case "$tool \$*" in
"getent group $GROUP") exit \${STUB_GETENT_RC:-0} ;;
"deb-systemd-helper --quiet was-enabled "*) exit \${STUB_WAS_ENABLED_RC:-0} ;;
esac
exit 0
EOF
        chmod 755 "$WORK/stub/$tool"
done
for s in postinst prerm; do
        sed "s|/run/systemd/system|$WORK/fakerun/systemd/system|g" "$WORK/ctl/$s" > "$WORK/$s.t"
done
run_script() { # SCRIPT ARGS...: runs it with the stubs; the calls in $CALLS
        local s=$1
        shift
        : > "$WORK/calls.log"
        env PATH="$WORK/stub:$PATH" sh "$WORK/$s.t" "$@" > "$WORK/script.out" 2>&1
        local rc=$?
        CALLS=$(cat "$WORK/calls.log")
        return $rc
}
has_call() { grep -qxF -- "$1" <<< "$CALLS"; }
no_call() { ! grep -qE -- "$1" <<< "$CALLS"; }

t_begin "maintainer scripts: first installation enables and starts both units"
check "postinst configure exits 0" run_script postinst configure
check "enables ksm.service" has_call "deb-systemd-helper enable ksm.service"
check "enables ksmtuned.service" has_call "deb-systemd-helper enable ksmtuned.service"
check "starts ksm.service and ksmtuned.service" has_call "deb-systemd-invoke start ksm.service ksmtuned.service"
check "group exists: no addgroup" no_call "^addgroup"
STUB_GETENT_RC=2 run_script postinst configure
check "creates the group when missing" has_call "addgroup --system --quiet $GROUP"
t_end

t_begin "maintainer scripts: an upgrade never starts or restarts ksm.service"
check "postinst configure OLD exits 0" run_script postinst configure "$STOCK_VERSION"
check "no start/restart of ksm.service" no_call "^deb-systemd-invoke .*(start|restart).* ksm\.service"
check "ksmtuned.service: try-restart only (restarted only if running)" \
        has_call "deb-systemd-invoke try-restart ksmtuned.service"
check "no plain start/restart of ksmtuned.service" no_call "^deb-systemd-invoke (start|restart) "
STUB_WAS_ENABLED_RC=1 run_script postinst configure "$STOCK_VERSION"
check "a unit the operator disabled is not re-enabled" no_call "^deb-systemd-helper enable "
check "prerm upgrade exits 0" run_script prerm upgrade "$CHANGELOG_VERSION"
check "prerm upgrade stops nothing" no_call "^deb-systemd-invoke"
check "prerm remove exits 0" run_script prerm remove
check "prerm remove stops the daemon, then KSM" has_call "deb-systemd-invoke stop ksmtuned.service ksm.service"
t_end

# ---------------------------------------------------------------------------
# Over Debian's package, as an operator upgrades.

wants=/etc/systemd/system/multi-user.target.wants
enabled() { deb-systemd-helper --quiet is-enabled "$1" 2> /dev/null || [ -L "$wants/$1" ]; }

t_begin "Debian's ksmtuned $STOCK_VERSION installed, operator edits"
if [ "$PRIOR_STATE" != installed ]; then
        dpkg -i "$STOCK_DEB" > "$WORK/stock.log" 2>&1
        check "dpkg -i Debian's package exits 0 (log: $WORK/stock.log)" [ $? = 0 ]
fi
check_eq "Debian's version installed" "$STOCK_VERSION" "$(pkg_version ksmtuned)"
cp "$CONF" "$WORK/conf.before-edit"
printf '%s\n' "$EDIT" >> "$CONF"
# The operator turns KSM off for good: "systemctl disable ksm.service".
rm -f "$wants/ksm.service"
check "ksm.service disabled by the operator" bash -c "! [ -L '$wants/ksm.service' ]"
ORIG_KSMTUNED_ENABLED=0
enabled ksmtuned.service && ORIG_KSMTUNED_ENABLED=1
t_end

t_begin "upgrade to ours: apt-get install ./ksmtuned.deb --force-confold"
if [ "$(getent group "$GROUP")" != "" ] && [ -n "$PRIOR_GROUP" ]; then
        # Pre-existing group: take it away (when nobody is in it) so that
        # postinst must create it; put back with its GID at the end.
        if [ -z "$(echo "$PRIOR_GROUP" | cut -d: -f4)" ] &&
                ! cut -d: -f4 /etc/passwd | grep -qx "$PRIOR_GID"; then
                groupdel "$GROUP" && GROUP_REMOVED=1
        fi
fi
apt-get install "${APT_OPTS[@]}" -o Dpkg::Options::=--force-confold "$DEB" > "$WORK/upgrade.log" 2>&1
rc=$?
check "apt-get install exits 0 (log: $WORK/upgrade.log)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || tail -30 "$WORK/upgrade.log" >&2
check "apt saw an upgrade, not a downgrade" grep -qF "Unpacking ksmtuned ($CHANGELOG_VERSION) over ($STOCK_VERSION)" "$WORK/upgrade.log"
check_eq "installed version" "$CHANGELOG_VERSION" "$(pkg_version ksmtuned)"
check_eq "dpkg state" installed "$(pkg_state ksmtuned)"
check "the operator's edit of $CONF survived" grep -qxF "$EDIT" "$CONF"
check "$CONF is the operator's file, byte for byte" \
        bash -c "cat '$WORK/conf.before-edit' <(printf '%s\n' '$EDIT') | cmp -s - '$CONF'"
check "our version of the conffile is beside it as .dpkg-dist" \
        cmp -s "$CONF.dpkg-dist" "$WORK/src/conf/ksmtuned.conf"
check "/etc/default/ksm (not edited) is ours now" cmp -s /etc/default/ksm "$WORK/src/conf/default-ksm"
check "ksm.service stays disabled" bash -c "! [ -L '$wants/ksm.service' ]"
if [ "$ORIG_KSMTUNED_ENABLED" = 1 ]; then
        check "ksmtuned.service stays enabled" enabled ksmtuned.service
fi
check "group $GROUP created" group_exists
t_end

t_begin "ours is what runs"
# Never run Debian's ksmtuned: it would start the daemon on this machine.
if head -c 4 /usr/sbin/ksmtuned | grep -q ELF; then
        check_eq "ksmtuned --version" "ksmtuned $PROJECT_VERSION" "$(timeout 10 /usr/sbin/ksmtuned --version 2>&1)"
        check "ksmtuned reads the operator's edited $CONF" \
                bash -c "timeout 10 /usr/sbin/ksmtuned --print-config | grep -qE '^KSM_THRES_COEF=37 +# $CONF:[0-9]+$'"
else
        check "/usr/sbin/ksmtuned is our binary, not Debian's script" false
fi
check_eq "ksmctl --version" "ksmctl (ksmtuned) $PROJECT_VERSION" "$(timeout 10 /usr/sbin/ksmctl --version 2>&1)"
t_end

t_begin "dpkg -L ksmtuned: everything installed"
dpkg -L ksmtuned > "$WORK/files.list"
for f in /usr/sbin/ksmtuned /usr/sbin/ksmctl /etc/ksmtuned.conf /etc/default/ksm \
        /usr/share/dbus-1/system.d/org.ksmtuned1.conf /usr/share/dbus-1/system-services/org.ksmtuned1.service \
        /usr/share/man/man8/ksmtuned.8.gz /usr/share/man/man8/ksmctl.8.gz \
        /usr/share/man/man5/ksmtuned.conf.5.gz /usr/share/man/man5/org.ksmtuned1.5.gz \
        /usr/share/doc/ksmtuned/copyright \
        $([ -f "$WORK/src/conf/ksmtuned.logrotate" ] && echo /etc/logrotate.d/ksmtuned); do
        check "lists and installs $f" bash -c "grep -qxF '$f' '$WORK/files.list' && [ -f '$f' ]"
done
for u in ksm.service ksmtuned.service; do
        unit=$(grep -E "^(/usr)?/lib/systemd/system/$u\$" "$WORK/files.list" | head -1)
        check "lists and installs the unit $u" [ -f "${unit:-/nonexistent}" ]
        if [ -n "$unit" ]; then
                exe=$(sed -n 's/^ExecStart=[-@+!:]*\([^ ]*\).*/\1/p' "$unit" | head -1)
                check "$u: ExecStart=$exe exists" [ -x "$exe" ]
        fi
done
check "conffiles registered" bash -c "dpkg-query -W -f='\${Conffiles}\n' ksmtuned | grep -q ' /etc/ksmtuned.conf ' &&
                                      dpkg-query -W -f='\${Conffiles}\n' ksmtuned | grep -q ' /etc/default/ksm '"
t_end

t_begin "dpkg --purge: everything gone"
dpkg --purge ksmtuned > "$WORK/purge.log" 2>&1
check "dpkg --purge exits 0 (log: $WORK/purge.log)" [ $? = 0 ]
check_eq "dpkg state" not-installed "$(pkg_state ksmtuned)"
left=""
while IFS= read -r f; do
        [ -d "$f" ] && continue # shared directories stay
        if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done < "$WORK/files.list"
check_eq "files left behind" "" "$left"
for f in "$CONF" "$CONF.dpkg-dist" "$CONF.dpkg-old" /etc/default/ksm /etc/logrotate.d/ksmtuned \
        "$wants/ksm.service" "$wants/ksmtuned.service" \
        /var/lib/systemd/deb-systemd-helper-enabled/ksm.service.dsh-also \
        /var/lib/systemd/deb-systemd-helper-enabled/ksmtuned.service.dsh-also; do
        check "$f is gone" bash -c "! [ -e '$f' ] && ! [ -L '$f' ]"
done
t_end

# ---------------------------------------------------------------------------
# On a machine that never had ksmtuned.

t_begin "fresh install of ours: enabled, group created; remove, then purge"
if [ -z "$PRIOR_GROUP" ] || [ "$GROUP_REMOVED" = 1 ]; then
        groupdel "$GROUP" 2> /dev/null
fi
dpkg -i "$DEB" > "$WORK/fresh.log" 2>&1
check "dpkg -i exits 0 (log: $WORK/fresh.log)" [ $? = 0 ]
check "ksm.service enabled" enabled ksm.service
check "ksmtuned.service enabled" enabled ksmtuned.service
if [ -z "$PRIOR_GROUP" ] || [ "$GROUP_REMOVED" = 1 ]; then
        check "group $GROUP created" group_exists
fi
check "$CONF is ours" cmp -s "$CONF" "$WORK/src/conf/ksmtuned.conf"
dpkg -r ksmtuned > "$WORK/remove.log" 2>&1
check "dpkg -r exits 0" [ $? = 0 ]
check_eq "dpkg state after remove" config-files "$(pkg_state ksmtuned)"
check "binaries gone after remove" bash -c "! [ -e /usr/sbin/ksmtuned ] && ! [ -e /usr/sbin/ksmctl ]"
check "conffiles kept after remove" bash -c "[ -f '$CONF' ] && [ -f /etc/default/ksm ]"
dpkg --purge ksmtuned > "$WORK/purge2.log" 2>&1
check "dpkg --purge exits 0" [ $? = 0 ]
check "conffiles gone after purge" bash -c "! [ -e '$CONF' ] && ! [ -e /etc/default/ksm ]"
check "unit links gone after purge" bash -c "! [ -L '$wants/ksm.service' ] && ! [ -L '$wants/ksmtuned.service' ]"
t_end

t_summary

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks that the man pages lint clean and document every command-line option
# and configuration key the binary knows and every name of the D-Bus
# interface, and that the shipped configuration files parse to the built-in
# defaults.
#
# usage: test_docs.sh KSMTUNED_BINARY SOURCE_DIR
set -u

ksmtuned=${1:?usage: test_docs.sh KSMTUNED_BINARY SOURCE_DIR}
src=${2:?usage: test_docs.sh KSMTUNED_BINARY SOURCE_DIR}

if ! command -v mandoc >/dev/null 2>&1; then
        echo "SKIP: mandoc is not installed (apt-get install mandoc)"
        exit 77
fi

man8=$src/man/ksmtuned.8
man5=$src/man/ksmtuned.conf.5
manbus=$src/man/org.ksmtuned1.5
bus_c=$src/src/bus.c
conf=$src/conf/ksmtuned.conf
cfg=$src/conf/ksmtuned.cfg.example

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# Plain text of a roff page, good enough to grep for names: the escapes we
# use around option and key names removed.
plain() {
        sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\f[BIRP]//g' -e 's/\\(aq/'"'"'/g' \
            -e 's/\\(dq/"/g' -e 's/\\~/ /g' "$1"
}
plain "$man8" >"$tmp/man8.txt"
plain "$man5" >"$tmp/man5.txt"

# (a) mandoc lint is silent.
shopt -s nullglob
pages=("$src"/man/*.[0-9])
shopt -u nullglob
if [ ${#pages[@]} -eq 0 ]; then
        fail "mandoc lint: no man pages in $src/man"
else
        lint=$(mandoc -T lint "${pages[@]}" 2>&1)
        if [ -z "$lint" ]; then
                ok "mandoc -T lint: ${#pages[@]} pages clean"
        else
                fail "mandoc -T lint:"
                printf '%s\n' "$lint" | sed 's/^/    /'
        fi
fi

# (b) every long option of --help is in ksmtuned(8).
if ! "$ksmtuned" --help >"$tmp/help" 2>&1; then
        fail "ksmtuned --help failed"
else
        options=$(grep -o -- '--[a-z-]*' "$tmp/help" | sort -u)
        missing=()
        for o in $options; do
                grep -qF -- "$o" "$tmp/man8.txt" || missing+=("$o")
        done
        if [ -z "$options" ]; then
                fail "ksmtuned --help lists no long options"
        elif [ ${#missing[@]} -eq 0 ]; then
                ok "ksmtuned.8 documents all $(wc -w <<<"$options") long options of --help"
        else
                fail "ksmtuned.8 lacks options: ${missing[*]}"
        fi
fi

# (c) every configuration key is in ksmtuned.conf(5) and in a shipped file.
if ! "$ksmtuned" --print-config --config /nonexistent --settings /nonexistent \
        >"$tmp/defaults" 2>&1; then
        fail "ksmtuned --print-config with no files failed: $(cat "$tmp/defaults")"
else
        keys=$(sed -n 's/^\([A-Za-z_.]*\)=.*/\1/p' "$tmp/defaults")
        missing5=()
        missingconf=()
        for k in $keys; do
                grep -qF -- "$k" "$tmp/man5.txt" || missing5+=("$k")
                grep -qF -- "$k" "$conf" "$cfg" 2>/dev/null || missingconf+=("$k")
        done
        nkeys=$(wc -w <<<"$keys")
        if [ "$nkeys" -eq 0 ]; then
                fail "ksmtuned --print-config printed no keys"
        elif [ ${#missing5[@]} -eq 0 ]; then
                ok "ksmtuned.conf.5 documents all $nkeys configuration keys"
        else
                fail "ksmtuned.conf.5 lacks keys: ${missing5[*]}"
        fi
        if [ "$nkeys" -gt 0 ] && [ ${#missingconf[@]} -eq 0 ]; then
                ok "conf/ksmtuned.conf and conf/ksmtuned.cfg.example show all $nkeys keys"
        elif [ "$nkeys" -gt 0 ]; then
                fail "conf/ksmtuned.conf and conf/ksmtuned.cfg.example lack keys: ${missingconf[*]}"
        fi
fi

# (e) every property, method and signal of org.ksmtuned1.Manager and
# org.ksmtuned1.Guest, and every org.ksmtuned1 error, is in org.ksmtuned1(5).
# The names come from the vtables in src/bus.c, so no bus is needed. A member
# name counts as documented when it appears as a word on a font-macro line
# (.B, .BR, .BI, .IB, .RB) of the page, as the headings of its entries are,
# not merely somewhere in running text ("Free", "Run" and "Id" are words).
if [ ! -f "$manbus" ]; then
        fail "org.ksmtuned1.5 is missing"
elif [ ! -f "$bus_c" ]; then
        fail "src/bus.c is missing"
else
        plain "$manbus" >"$tmp/bus5.txt"
        grep -E '^\.(B|BR|BI|IB|RB)[[:space:]]' "$tmp/bus5.txt" >"$tmp/bus5-marked.txt"
        # One line, so that a macro whose name is on the next line counts too.
        members=$(tr '\n' ' ' <"$bus_c" |
                grep -oE '(SD_BUS_PROPERTY|SD_BUS_METHOD_WITH_ARGS|SD_BUS_SIGNAL_WITH_ARGS|COUNTER|COUNTER_CHANGES)\([[:space:]]*"[A-Za-z0-9_]+"' |
                sed 's/.*"\(.*\)"$/\1/' | sort -u)
        errors=$(grep -oE '"org\.ksmtuned1\.[A-Za-z0-9_]+"' "$bus_c" | tr -d '"' |
                grep -vE '^org\.ksmtuned1\.(Manager|Guest)$' | sort -u)
        nmembers=$(wc -w <<<"$members")
        missing=()
        for n in $members; do
                grep -qw -- "$n" "$tmp/bus5-marked.txt" || missing+=("$n")
        done
        for e in $errors; do
                grep -qF -- "$e" "$tmp/bus5.txt" || missing+=("$e")
        done
        # The Manager alone has more than 30 members: fewer means the
        # vtables changed shape and this parser no longer sees them.
        if [ "$nmembers" -lt 30 ]; then
                fail "found only $nmembers D-Bus member names in src/bus.c: $members"
        elif [ ${#missing[@]} -eq 0 ]; then
                ok "org.ksmtuned1.5 documents all $nmembers D-Bus members and $(wc -w <<<"$errors") errors"
        else
                fail "org.ksmtuned1.5 lacks: ${missing[*]}"
        fi
fi

# print_config NAME LEGACY SETTINGS: runs --print-config into $tmp/NAME.out.
print_config() {
        "$ksmtuned" --print-config --config "$2" --settings "$3" >"$tmp/$1.out" 2>"$tmp/$1.err"
}

# all_default NAME: every line of $tmp/NAME.out ends in "# default".
all_default() {
        [ -s "$tmp/$1.out" ] && ! grep -qv '# default$' "$tmp/$1.out"
}

# (d) the shipped files, as shipped, parse to the built-in defaults.
for pair in "ksmtuned.conf:$conf:/nonexistent" "ksmtuned.cfg.example:/nonexistent:$cfg"; do
        IFS=: read -r name legacy settings <<<"$pair"
        if ! print_config "$name" "$legacy" "$settings"; then
                fail "conf/$name does not parse: $(cat "$tmp/$name.err")"
        elif [ -s "$tmp/$name.err" ]; then
                fail "conf/$name parses with warnings: $(cat "$tmp/$name.err")"
        elif all_default "$name"; then
                ok "conf/$name parses, every value # default"
        else
                fail "conf/$name sets values:"
                grep -v '# default$' "$tmp/$name.out" | sed 's/^/    /'
        fi
done

# Beyond the brief's minimum: uncommented, the shipped examples still parse.
# ksmtuned.conf: every "# KEY=value" line, uncommented, gives the same values.
sed 's/^# \([A-Z_]*=\)/\1/' "$conf" >"$tmp/uncommented.conf"
if ! print_config uncommented-conf "$tmp/uncommented.conf" /nonexistent; then
        fail "conf/ksmtuned.conf uncommented does not parse: $(cat "$tmp/uncommented-conf.err")"
else
        # LOGFILE shows an example path: its default is "no file".
        sed -e 's/ *#.*//' -e 's/^LOGFILE=.*/LOGFILE=/' "$tmp/uncommented-conf.out" >"$tmp/a"
        sed -e 's/ *#.*//' "$tmp/defaults" >"$tmp/b"
        nset=$(grep -c -v '# default$' "$tmp/uncommented-conf.out")
        if [ "$nset" -lt 12 ]; then
                fail "conf/ksmtuned.conf uncommented sets only $nset keys, expected 12"
        elif cmp -s "$tmp/a" "$tmp/b"; then
                ok "conf/ksmtuned.conf uncommented sets $nset keys to their defaults"
        else
                fail "conf/ksmtuned.conf uncommented differs from the defaults:"
                diff "$tmp/b" "$tmp/a" | sed 's/^/    /'
        fi
fi
# ksmtuned.cfg.example: the defaults block ("#name" at column 1 and its
# "#  member" lines), uncommented, gives the default values.
sed -e 's/^#\([a-z}]\)/\1/' -e 's/^#\(  [a-z]\)/\1/' "$cfg" >"$tmp/defaults.cfg"
if ! print_config defaults-cfg /nonexistent "$tmp/defaults.cfg"; then
        fail "conf/ksmtuned.cfg.example uncommented does not parse: $(cat "$tmp/defaults-cfg.err")"
else
        sed 's/ *#.*//' "$tmp/defaults-cfg.out" >"$tmp/a"
        sed 's/ *#.*//' "$tmp/defaults" >"$tmp/b"
        if cmp -s "$tmp/a" "$tmp/b"; then
                ok "conf/ksmtuned.cfg.example uncommented gives the default values"
        else
                fail "conf/ksmtuned.cfg.example uncommented differs from the defaults:"
                diff "$tmp/b" "$tmp/a" | sed 's/^/    /'
        fi
fi
# Each run of "#   example" lines is an alternative: uncommented alone, it parses.
nalt=$(awk '/^#   [A-Za-z]/ { if (!run) n++; run = 1; next } { run = 0 } END { print n + 0 }' "$cfg")
for k in $(seq 1 "$nalt"); do
        awk -v k="$k" '/^#   [A-Za-z]/ { if (!run) n++; run = 1; if (n == k) sub(/^#   /, "") }
                       !/^#   [A-Za-z]/ { run = 0 } { print }' "$cfg" >"$tmp/alt$k.cfg"
        first=$(diff "$cfg" "$tmp/alt$k.cfg" | sed -n 's/^> //p' | head -1)
        if print_config "alt$k" /nonexistent "$tmp/alt$k.cfg" && ! [ -s "$tmp/alt$k.err" ]; then
                ok "conf/ksmtuned.cfg.example example $k parses ($first)"
        else
                fail "conf/ksmtuned.cfg.example example $k ($first): $(cat "$tmp/alt$k.err")"
        fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

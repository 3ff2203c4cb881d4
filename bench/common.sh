# Sourced by the benchmarks (cycle_cost.sh, merge.sh): what both need.
# shellcheck shell=bash

# Finds Debian's packaged ksmtuned script. It is GPL code, fetched with apt
# and run as it ships, never copied into this repository. Sets STOCK_SCRIPT
# and STOCK_NAME. A caller may preset STOCK_SCRIPT; KSMTUNED_STOCK_CACHE is
# where the .deb is kept between runs. Calls skip (which the caller defines)
# when the script cannot be had.
stock_fetch() {
        local work=$1 cache deb
        if [[ -n ${STOCK_SCRIPT:-} ]]; then
                STOCK_NAME=$STOCK_SCRIPT
        else
                cache=${KSMTUNED_STOCK_CACHE:-${TMPDIR:-/tmp}/ksmtuned-stock-cache}
                mkdir -p "$cache"
                deb=$(find "$cache" -maxdepth 1 -name 'ksmtuned_*.deb' | sort | tail -n 1)
                if [[ -z $deb ]]; then
                        chmod 755 "$cache" # apt-get download runs as _apt
                        (cd "$cache" && apt-get -q download ksmtuned) >"$work/apt.log" 2>&1 ||
                                skip "cannot download Debian's ksmtuned (apt-get download ksmtuned)"
                        deb=$(find "$cache" -maxdepth 1 -name 'ksmtuned_*.deb' | sort | tail -n 1)
                        [[ -n $deb ]] || skip "apt-get download left no ksmtuned_*.deb in $cache"
                fi
                dpkg -x "$deb" "$work/stock" || skip "cannot unpack $deb"
                STOCK_SCRIPT=$work/stock/usr/sbin/ksmtuned
                STOCK_NAME=${deb##*/}
        fi
        [[ -f $STOCK_SCRIPT ]] || skip "no stock script at $STOCK_SCRIPT"
}

# A meminfo of a host under memory pressure: 16 GiB total, 1 GB free, below
# the 20 % threshold (3.2 GiB), so both engines start KSM and boost.
write_pressure_meminfo() {
        cat >"$1" <<'EOF'
MemTotal:       16777216 kB
MemFree:         1000000 kB
MemAvailable:    1000000 kB
Buffers:               0 kB
Cached:                0 kB
SwapCached:            0 kB
EOF
}

# Fork-free sleeping: a read with a timeout on a FIFO nobody writes. Our
# daemon sees every fork on the host, so the drivers must not fork while
# it is measured. Opens fd TICK on DIR/tick.
tick_open() {
        mkfifo "$1/tick"
        exec {TICK}<>"$1/tick"
}

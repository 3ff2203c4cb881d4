# Sourced by the benchmarks: finds Debian's packaged ksmtuned script. It is
# GPL code, fetched with apt and run as it ships, never copied into this
# repository. Sets STOCK_SCRIPT and STOCK_NAME. A caller may preset
# STOCK_SCRIPT; KSMTUNED_STOCK_CACHE is where the .deb is kept between runs.
# Calls skip (which the caller defines) when the script cannot be had.
# shellcheck shell=bash
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

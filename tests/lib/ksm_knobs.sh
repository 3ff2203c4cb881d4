# Save and restore every writable knob of the real /sys/kernel/mm/ksm.
# Sourced by tests that touch the real kernel. ksm_save installs an EXIT
# trap-friendly restore; call ksm_restore from your cleanup.

KSM_DIR=/sys/kernel/mm/ksm
# advisor_mode first (switching it resets pages_to_scan), run last.
KSM_KNOBS="advisor_mode advisor_max_cpu advisor_min_pages_to_scan advisor_max_pages_to_scan
advisor_target_scan_time smart_scan use_zero_pages max_page_sharing merge_across_nodes
stable_node_chains_prune_millisecs pages_to_scan sleep_millisecs run"
declare -A KSM_SAVED=()

# ksm_usable: 0 when the real KSM directory exists and accepts writes.
ksm_usable() {
        [ -d "$KSM_DIR" ] && [ -f "$KSM_DIR/run" ] || { KSM_WHY="$KSM_DIR does not exist (no CONFIG_KSM)"; return 1; }
        [ "$(id -u)" = 0 ] || { KSM_WHY="not root"; return 1; }
        # Writing the current value back is a no-op that tells us if sysfs is read-only.
        local v
        v=$(cat "$KSM_DIR/sleep_millisecs")
        if ! (echo "$v" > "$KSM_DIR/sleep_millisecs") 2>/dev/null; then
                KSM_WHY="$KSM_DIR is read-only"
                return 1
        fi
}

ksm_save() {
        local k v
        for k in $KSM_KNOBS; do
                [ -f "$KSM_DIR/$k" ] || continue
                v=$(cat "$KSM_DIR/$k")
                # advisor_mode reads "[none] scan-time": keep the bracketed word.
                [ "$k" = advisor_mode ] && v=$(sed -E 's/.*\[([^]]+)\].*/\1/' <<<"$v")
                KSM_SAVED[$k]=$v
        done
}

ksm_restore() {
        local k
        [ "${#KSM_SAVED[@]}" -gt 0 ] || return 0
        for k in $KSM_KNOBS; do
                [ -n "${KSM_SAVED[$k]+x}" ] || continue
                # merge_across_nodes and max_page_sharing refuse changes while
                # pages are shared; writing the same value is fine.
                [ "$(cat "$KSM_DIR/$k" 2>/dev/null | sed -E 's/.*\[([^]]+)\].*/\1/')" = "${KSM_SAVED[$k]}" ] && continue
                echo "${KSM_SAVED[$k]}" > "$KSM_DIR/$k" 2>/dev/null ||
                        echo "warning: could not restore $k=${KSM_SAVED[$k]}" >&2
        done
}

# ksm_check_restored: 0 when every saved knob reads back as saved.
ksm_check_restored() {
        local k now rc=0
        for k in "${!KSM_SAVED[@]}"; do
                now=$(sed -E 's/.*\[([^]]+)\].*/\1/' "$KSM_DIR/$k")
                if [ "$now" != "${KSM_SAVED[$k]}" ]; then
                        echo "  $k is $now, was ${KSM_SAVED[$k]}" >&2
                        rc=1
                fi
        done
        return $rc
}

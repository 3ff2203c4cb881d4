# shellcheck shell=bash
# Private system-like D-Bus daemon for tests. Sourced, not executed.
#
#   bus_start DIR [shipped|permissive]   start one; exports DBUS_SYSTEM_BUS_ADDRESS
#   bus_set_policy shipped|permissive    switch the policy of the running bus
#   bus_stop                             stop it (the socket file goes too)
#   bus_has_name NAME                    true when NAME has an owner
#
# The bus behaves like Debian's system bus (/usr/share/dbus-1/system.conf):
# EXTERNAL authentication only, everyone may connect, nobody may own a name or
# send a method call unless a policy punches a hole, and everyone may talk to
# the bus driver. It differs where an unprivileged test run needs it to: it
# listens on DIR/system_bus_socket, runs as the caller (no <user>, no fork, no
# pid file, no syslog) and has no service directories, so nothing is ever
# activated and a call to an absent name fails at once with ServiceUnknown.
#
# Policies (the only <include>):
#   shipped     the repository's conf/org.ksmtuned1.conf, as installed
#   permissive  everyone may send anything to org.ksmtuned1: what is left to
#               refuse a caller is the daemon's own check of its credentials
#
# DIR is made world-traversable so that an unprivileged test user can reach
# the socket.

BUS_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUS_SHIPPED_POLICY=$(realpath "$BUS_SH_DIR/../../conf/org.ksmtuned1.conf")
BUS_DIR=""
BUS_PID=""

# bus_write_config DIR POLICY: writes DIR/bus.conf (and DIR/permissive.conf).
bus_write_config() {
        local dir=$1 policy=$2 include
        case "$policy" in
        shipped) include=$BUS_SHIPPED_POLICY ;;
        permissive)
                include=$dir/permissive.conf
                cat > "$include" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Test policy: anyone may call anything on org.ksmtuned1. -->
<busconfig>
  <policy user="root">
    <allow own="org.ksmtuned1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.ksmtuned1"/>
    <allow receive_sender="org.ksmtuned1"/>
  </policy>
</busconfig>
EOF
                ;;
        *)
                echo "bus_write_config: unknown policy '$policy'" >&2
                return 1
                ;;
        esac
        cat > "$dir/bus.conf.tmp" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- A private system bus for ksmtuned's tests; policy: $policy -->
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$dir/system_bus_socket</listen>

  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus"
          send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <!-- root may monitor (busctl monitor), as on Debian. -->
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>

  <include>$include</include>
</busconfig>
EOF
        mv "$dir/bus.conf.tmp" "$dir/bus.conf"
}

# bus_start DIR [POLICY]: starts the bus, waits until it answers.
bus_start() {
        local dir=$1 policy=${2:-shipped} i
        BUS_DIR=$dir
        mkdir -p "$dir"
        chmod 755 "$dir"
        rm -f "$dir/system_bus_socket" "$dir/address"
        bus_write_config "$dir" "$policy" || return 1
        dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address > "$dir/address" 2> "$dir/bus.log" &
        BUS_PID=$!
        for ((i = 0; i < 500; i++)); do
                [ -s "$dir/address" ] && break
                kill -0 "$BUS_PID" 2>/dev/null || break
                sleep 0.02
        done
        if [ ! -s "$dir/address" ]; then
                echo "bus_start: dbus-daemon did not start:" >&2
                cat "$dir/bus.log" >&2
                BUS_PID=""
                return 1
        fi
        # The socket's own path, not the printed address (which carries a guid):
        # clients started later connect to whatever bus listens there now.
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/system_bus_socket"
        # A path socket is created with the umask; let every user connect.
        chmod 777 "$dir/system_bus_socket"
}

# bus_set_policy POLICY: rewrites the configuration and has the bus reload it
# (ReloadConfig answers once the new policy is in force).
bus_set_policy() {
        bus_write_config "$BUS_DIR" "$1" || return 1
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                ReloadConfig > /dev/null
}

bus_stop() {
        if [ -n "$BUS_PID" ]; then
                kill -TERM "$BUS_PID" 2>/dev/null
                wait "$BUS_PID" 2>/dev/null
                BUS_PID=""
        fi
        [ -n "$BUS_DIR" ] && rm -f "$BUS_DIR/system_bus_socket"
        return 0
}

bus_has_name() {
        local out
        out=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                NameHasOwner s "$1" 2> /dev/null)
        [ "$out" = "b true" ]
}

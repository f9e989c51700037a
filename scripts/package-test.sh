#!/usr/bin/env bash
# The Debian package as an operator gets it: build it, install it with dpkg, check the man pages,
# completions and the sample configuration, verify the systemd units, then start the milter as
# the unit would (this machine's PID 1 is not systemd: the unit's User, Environment, UMask,
# RuntimeDirectory and ExecStart, run by hand) and check that the socket has the configured mode
# and group: Postfix (user and group postfix, no supplementary groups, as Postfix runs smtpd) can
# talk milter to it, another user cannot. With NDR_PACKAGE_E2E=1, the Postfix end-to-end test
# (tests/tests/postfix.rs) then runs against the installed milter and policy service.
# Needs root. Leaves the package installed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "package-test: needs root (dpkg -i)" >&2; exit 2; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

deb=$(bash scripts/package-deb.sh)
# postfix first, so that the package's postinst adds its user to the group ndr.
getent passwd postfix >/dev/null || bash scripts/mta-deps.sh >&2
dpkg -i --force-confnew "$deb" >&2
echo "package-test: installed $deb"

# Documentation and completions from the CLI definition.
for page in ndr ndr-milter ndr-policy ndr-check-config; do
    man -w "$page" >/dev/null || fail "no man page $page"
done
man ndr 2>/dev/null | grep -q milter || fail "man ndr does not list the milter subcommand"
for f in /usr/share/bash-completion/completions/ndr /usr/share/zsh/vendor-completions/_ndr \
    /usr/share/fish/vendor_completions.d/ndr.fish; do
    [ -s "$f" ] || fail "no completion $f"
done
bash -c 'source /usr/share/bash-completion/completions/ndr && complete -p ndr' >/dev/null \
    || fail "the bash completion does not register for ndr"

# The installed binary finds the installed module, and the sample configuration is valid.
(cd / && env -u NDR_MODULE /usr/bin/ndr info >/dev/null) || fail "ndr does not find /usr/lib/ndr/ndr_filter.wasm"
/usr/bin/ndr check-config /etc/ndr/site.toml || fail "the sample /etc/ndr/site.toml is invalid"
[ "$(stat -c '%U:%G %a' /etc/ndr/site.toml)" = "root:ndr 640" ] || fail "site.toml is not root:ndr 0640"
id -nG ndr | tr ' ' '\n' | grep -qx postfix || fail "postinst did not add ndr to the group postfix"

# The units as systemd reads them (syntax, directives, executables, man pages).
for unit in ndr-milter ndr-policy; do
    systemd-analyze verify "/usr/lib/systemd/system/$unit.service" || fail "systemd-analyze verify $unit"
done

# Start a service from its unit, as systemd would: User, Group (with the user's supplementary
# groups), UMask, Environment, RuntimeDirectory, CacheDirectory, ExecStart. Sets $started_pid.
pids=()
log=$(mktemp)
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$log"' EXIT
start_unit() {
    local unit=/usr/lib/systemd/system/$1.service kv env_args=() exec_start user group
    key() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
    while IFS= read -r kv; do env_args+=("$kv"); done < <(sed -n 's/^Environment=//p' "$unit")
    exec_start=$(key ExecStart)
    for kv in "${env_args[@]}"; do exec_start=${exec_start//"\${${kv%%=*}}"/${kv#*=}}; done
    user=$(key User)
    group=$(key Group)
    install -d -o "$user" -g "$group" -m "$(key RuntimeDirectoryMode)" "/run/$(key RuntimeDirectory)"
    install -d -o "$user" -g "$group" -m 0700 "/var/cache/$(key CacheDirectory)"
    # shellcheck disable=SC2086 # ExecStart is split into words as systemd does (no quoting in it)
    (umask "$(key UMask)" && exec setpriv --reuid "$user" --regid "$group" --init-groups \
        env -i "${env_args[@]}" $exec_start) 2>>"$log" &
    started_pid=$!
    pids+=("$started_pid")
}
wait_socket() {
    for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
    cat "$log" >&2
    fail "no socket at $1"
}

milter_socket=$(sed -n 's/^Environment=NDR_MILTER_LISTEN=unix://p' /usr/lib/systemd/system/ndr-milter.service)
policy_socket=$(sed -n 's/^Environment=NDR_POLICY_LISTEN=unix://p' /usr/lib/systemd/system/ndr-policy.service)
# A socket left by an earlier run would satisfy wait_socket before the new service has bound.
rm -f "$milter_socket" "$policy_socket"
start_unit ndr-milter
milter_pid=$started_pid
start_unit ndr-policy
policy_pid=$started_pid
wait_socket "$milter_socket"
wait_socket "$policy_socket"
sleep 0.2
for socket in "$milter_socket" "$policy_socket"; do
    mode_group=$(stat -c '%a %U:%G' "$socket")
    [ "$mode_group" = "660 ndr:postfix" ] \
        || fail "socket $socket is $mode_group, expected 660 ndr:postfix (site.toml socket_mode, socket_group)"
    echo "package-test: $socket is $mode_group"
done

# A milter option negotiation (SMFIC_OPTNEG, protocol version 6) over the socket.
negotiate='
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(3)
body = b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
s.sendall(struct.pack(">I", len(body)) + body)
n = struct.unpack(">I", s.recv(4))[0]
reply = s.recv(n)
sys.exit(0 if reply[:1] == b"O" else 1)
'
setpriv --reuid postfix --regid postfix --clear-groups /usr/bin/python3 -c "$negotiate" "$milter_socket" \
    || fail "postfix cannot negotiate with the milter at $milter_socket"
set +e
setpriv --reuid nobody --regid nogroup --clear-groups /usr/bin/python3 -c "$negotiate" "$milter_socket"
rc=$?
set -e
[ "$rc" = 3 ] || fail "user nobody could reach $milter_socket (exit $rc), expected permission denied"
kill -HUP "$milter_pid"
sleep 0.5
kill -0 "$milter_pid" || fail "the milter did not survive SIGHUP (ExecReload)"
grep -q '"event":"listening"' "$log" || fail "no listening line in the services' log"
echo "package-test: OK (postfix negotiates with the installed milter; nobody is refused; SIGHUP reloads)"

if [ "${NDR_PACKAGE_E2E:-0}" = 1 ]; then
    # The Postfix end-to-end test against the installed services: it writes its configuration
    # to /etc/ndr/site.toml and reloads them as ExecReload does; the sample is put back after.
    bash scripts/interop-deps.sh >&2
    cp -p /etc/ndr/site.toml "$log.site.toml"
    set +e
    NDR_E2E_MILTER="unix:$milter_socket" NDR_E2E_POLICY="unix:$policy_socket" \
        NDR_E2E_CONFIG=/etc/ndr/site.toml NDR_E2E_RELOAD="kill -HUP $milter_pid $policy_pid" \
        cargo test --locked --release -p ndr-tests --test postfix -- --test-threads 1
    rc=$?
    set -e
    cp -p "$log.site.toml" /etc/ndr/site.toml && rm -f "$log.site.toml"
    [ "$rc" = 0 ] || fail "the Postfix end-to-end test against the installed services"
    echo "package-test: OK (the Postfix end-to-end test passes against the installed milter and policy service)"
fi

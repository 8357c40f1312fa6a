#!/usr/bin/env bash
# The Debian package on this machine: install it with dpkg -i, check what it put where (the binary
# and its libraries, the example configuration, the user, the units and the init script installed
# but neither enabled nor started, the logrotate snippet), then purge it and check that nothing is
# left but the tlswrap user, which Debian keeps (files it owned may remain): the trees a package
# writes to are listed before the install and after the purge, and must not differ. Run by `./quickstart package-test` after
# `./quickstart package`; needs root. Whatever happens, the package is purged at the end, and the
# user removed when this test's install created it.
#   test_package.sh build-deb/tlswrap_VERSION_ARCH.deb
set -u
deb=${1:?usage: test_package.sh PACKAGE.deb}
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

[ "$(id -u)" = 0 ] || { echo "test_package: needs root (dpkg -i)" >&2; exit 1; }
[ -f "$deb" ] || { echo "test_package: no $deb" >&2; exit 1; }
pkg_state() { dpkg-query -W -f='${db:Status-Status}' tlswrap 2>/dev/null || echo not-installed; }
# a tlswrap installed by someone else is theirs: do not replace or purge it
if [ "$(pkg_state)" != not-installed ]; then
	echo "test_package: the tlswrap package is already on this machine ($(pkg_state)); not touching it" >&2
	exit 1
fi
user_before=no
getent passwd tlswrap >/dev/null && user_before=yes
T=$(mktemp -d /tmp/tlswrap-package-test.XXXXXX)
# The trees a package may write to, listed before the install and after the purge: what the purge left
# shows as a difference. Not compared: apt's and dpkg's own records and logs, the user's entries (kept
# on purge) and their backups, the journal, and what other processes on this machine write meanwhile
# under /var/lib (man-db, systemd's timers, ...).
snapshot() {
	find /etc /usr /lib /var/lib /var/log /var/spool -xdev 2>/dev/null |
		grep -v -E '^/var/lib/(dpkg|apt|man-db|systemd/timers|systemd/timesync|systemd/coredump|dhcp|logrotate|ucf)(/|$)|^/var/log/(apt|journal|dpkg\.log|alternatives\.log)(/|$)|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^/etc/ld\.so\.cache$' |
		sort
}
snapshot >"$T/before"

cleanup() {
	[ "$(pkg_state)" = not-installed ] || dpkg --purge tlswrap >/dev/null 2>&1 || echo "test_package: purge failed" >&2
	rm -rf /var/log/tlswrap
	if [ "$user_before" = no ] && getent passwd tlswrap >/dev/null; then
		userdel tlswrap 2>/dev/null
		getent group tlswrap >/dev/null && groupdel tlswrap 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the package file ------------------------------------------------------------------------
dpkg-deb -x "$deb" "$T/x"
dpkg-deb -f "$deb" Depends >"$T/depends"
objdump -p "$T/x/usr/sbin/tlswrap" | awk '$1 == "NEEDED" {print $2}' >"$T/needed"
if pkg-config --atleast-version=3.6 mbedtls 2>/dev/null; then
	check "mbedTLS of the system linked as shared libraries" grep -q '^libmbedtls' "$T/needed"
	check "Depends names the mbedTLS package" grep -q 'libmbedtls' "$T/depends"
else
	check "mbedTLS linked statically: no libmbed* NEEDED ($(tr '\n' ' ' <"$T/needed"))" \
		bash -c '! grep -q "^libmbed" "$1"' _ "$T/needed"
	check "Depends names no mbedTLS package" bash -c '! grep -q mbed "$1"' _ "$T/depends"
fi
check "no RPATH or RUNPATH" bash -c '! objdump -p "$1" | grep -q -E "RPATH|RUNPATH"' _ "$T/x/usr/sbin/tlswrap"

# ---- installed -------------------------------------------------------------------------------
if ! dpkg -i "$deb" >"$T/install.log" 2>&1; then
	cat "$T/install.log"
	not_ok "dpkg -i $deb"
	exit 1
fi
ok "dpkg -i $(basename "$deb")"
check "installed" test "$(pkg_state)" = installed
version=$(dpkg-deb -f "$deb" Version)
check "tlswrap --version says ${version%-*}" bash -c '/usr/sbin/tlswrap --version | grep -q -F "tlswrap $1"' _ "${version%-*}"
check "tlswrap --check /etc/tlswrap/example.conf" bash -c \
	'/usr/sbin/tlswrap --check /etc/tlswrap/example.conf 2>/dev/null | grep -q "example.conf: OK"'
check "example.conf is a conffile" bash -c 'dpkg-query -W -f="\${Conffiles}" tlswrap | grep -q " /etc/tlswrap/example.conf "'
check "man pages" test -f /usr/share/man/man8/tlswrap.8.gz -a -f /usr/share/man/man5/tlswrap.conf.5.gz
check "tlswrap system user, no login" bash -c \
	'u=$(getent passwd tlswrap) && [ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] && case $u in *nologin) ;; *) false ;; esac'
for u in tlswrap.service tlswrap@.service tlswrap.socket; do
	check "unit $u installed" test -f "/lib/systemd/system/$u"
	check "unit $u not enabled" bash -c '[ "$(systemctl is-enabled "$1" 2>&1)" = disabled ] &&
		! find /etc/systemd/system -name "tlswrap*" | grep -q .' _ "$u"
done
check "init script installed" test -x /etc/init.d/tlswrap
check "init script not enabled (no S links)" bash -c '! ls /etc/rc[2-5].d/ 2>/dev/null | grep -q "^S..tlswrap$"'
check "logrotate snippet" test -f /etc/logrotate.d/tlswrap
# after a rotation tlswrap reopens its file as the setuid user (tlswrap), who cannot create one in
# /var/log/tlswrap (root's): logrotate must make it for that user
check "logrotate snippet makes the new file for the tlswrap user" \
	grep -q -E '^[[:space:]]*create 0640 tlswrap adm$' /etc/logrotate.d/tlswrap
if command -v logrotate >/dev/null; then
	mkdir -p /var/log/tlswrap && echo x >/var/log/tlswrap/tlswrap.log
	logrotate -f -s "$T/logrotate.state" /etc/logrotate.d/tlswrap >"$T/logrotate.log" 2>&1
	check "logrotate: the new tlswrap.log is tlswrap's, 0640 ($(stat -c '%U:%G %a' /var/log/tlswrap/tlswrap.log 2>&1))" \
		test "$(stat -c '%U:%G %a' /var/log/tlswrap/tlswrap.log 2>/dev/null)" = "tlswrap:adm 640"
	rm -rf /var/log/tlswrap
fi
check "no tlswrap started" bash -c '! for p in /proc/[0-9]*; do readlink "$p/exe"; done 2>/dev/null | grep -q -x /usr/sbin/tlswrap'

# ---- purged ----------------------------------------------------------------------------------
# what tlswrap.service would have written under LogsDirectory=
mkdir -p /var/log/tlswrap && echo x >/var/log/tlswrap/tlswrap.log
if dpkg --purge tlswrap >"$T/purge.log" 2>&1; then ok "dpkg --purge tlswrap"; else cat "$T/purge.log"; not_ok "dpkg --purge tlswrap"; fi
check "not installed, no config-files left" test "$(pkg_state)" = not-installed
snapshot >"$T/after"
diff "$T/before" "$T/after" >"$T/left"
check "purge left nothing in /etc /usr /lib /var/lib /var/log /var/spool ($(grep -c '^[<>]' "$T/left") paths differ: $(grep '^[<>]' "$T/left" | head -5 | tr '\n' ' '))" \
	test ! -s "$T/left"
check "purge left no rc.d link" bash -c '! ls /etc/rc?.d/ | grep -q tlswrap'
check "purge left no systemd state" bash -c '! grep -r -q -s tlswrap /var/lib/systemd/deb-systemd-helper-enabled /etc/systemd/system'
check "the tlswrap user is kept on purge" bash -c 'getent passwd tlswrap >/dev/null'

echo "test_package: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

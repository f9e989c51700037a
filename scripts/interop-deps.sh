#!/usr/bin/env bash
# The real BATV and SRS implementations the interoperability tests compare against, from
# Debian's packages: Exim 4 (unpacked, not installed: it conflicts with Postfix), faketime to fix
# its clock, and python3-srs (pysrs). Idempotent; needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/interop
exim="$dest/exim/usr/sbin/exim4"
need=()
command -v faketime >/dev/null || need+=(faketime)
/usr/bin/python3 -c 'import SRS' 2>/dev/null || need+=(python3-srs)
ldconfig -p | grep -q 'libidn.so.12' || need+=(libidn12)
if [ ${#need[@]} -gt 0 ] || [ ! -x "$exim" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "interop-deps: need root to install ${need[*]} and Exim's packages" >&2
    exit 1
  fi
  echo "interop-deps: installing ${need[*]:-(nothing)}; unpacking Exim" >&2
  apt-get update -qq >&2
  [ ${#need[@]} -gt 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
if [ ! -x "$exim" ]; then
  mkdir -p "$dest/debs"
  (cd "$dest/debs" && apt-get download exim4-daemon-light >&2)
  dpkg-deb -x "$dest"/debs/exim4-daemon-light_*.deb "$dest/exim"
fi
# Exim is built to run as Debian-exim; the user must exist even for expansion tests.
getent passwd Debian-exim >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin Debian-exim
mkdir -p "$dest/spool" "$dest/log"
printf 'spool_directory = %s/spool\nlog_file_path = %s/log/%%s\n' "$PWD/$dest" "$PWD/$dest" > "$dest/exim.conf"
echo "interop-deps: ready ($("$exim" -C "$PWD/$dest/exim.conf" -bV 2>/dev/null | head -1))" >&2

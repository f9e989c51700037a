#!/usr/bin/env bash
# What our copy of mail-parser changes in the published crate (vendor/mail-parser/PATCHED.md):
# downloads mail-parser 0.11.9 from crates.io to a temporary directory and prints
# `diff -ru published vendor/mail-parser` (without the published crate's resources/, which the
# copy leaves out). Always exits 0: the diff is the output, not a verdict.
set -uo pipefail
cd "$(dirname "$0")/.."
version=0.11.9
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! curl -fsSL "https://static.crates.io/crates/mail-parser/mail-parser-$version.crate" -o "$tmp/crate.tar.gz" \
    || ! tar -xzf "$tmp/crate.tar.gz" -C "$tmp"; then
    echo "vendored-diff: could not download mail-parser $version from crates.io" >&2
    exit 0
fi
published="$tmp/mail-parser-$version"
rm -rf "$published/resources"
(cd "$tmp" && diff -ru "mail-parser-$version" "$OLDPWD/vendor/mail-parser" \
    | sed "s|$OLDPWD/||")
exit 0

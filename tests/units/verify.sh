#!/bin/sh
# Checks the packaged systemd units without a running systemd:
# `systemd-analyze verify` on copies whose ExecStart= names the built shortyd
# (verify wants the program to exist), where any message at all fails, and
# the exposure level `systemd-analyze security --offline` gives the system
# service, which must stay at or below the figure README.md records.
#   usage: verify.sh PACKAGING_DIR SHORTYD
set -eu

# README.md, "Running under systemd", records this figure; lower both together.
max_exposure=0.5

if [ $# -ne 2 ] || [ ! -d "$1" ] || [ ! -x "$2" ]; then
  echo "usage: verify.sh PACKAGING_DIR SHORTYD (an executable)" >&2
  exit 2
fi
packaging=$(cd "$1" && pwd)
shortyd=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/shorty-units-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/system" "$work/user" "$work/runtime"

for unit in shortyd.service shortyd.socket shortyd-control.socket; do
  sed "s|^ExecStart=/usr/bin/shortyd|ExecStart=$shortyd|" \
    "$packaging/$unit" > "$work/system/$unit"
  sed "s|^ExecStart=/usr/bin/shortyd|ExecStart=$shortyd|" \
    "$packaging/user/$unit" > "$work/user/$unit"
done
# The copies must really run the built program, or verify proves little.
for dir in system user; do
  if ! grep -qx "ExecStart=$shortyd.*" "$work/$dir/shortyd.service"; then
    echo "verify.sh: $dir/shortyd.service has no ExecStart=/usr/bin/shortyd" >&2
    exit 1
  fi
done

failed=0
check() {  # check NAME COMMAND...: fails on a non-zero exit or any output
  name=$1
  shift
  if ! out=$("$@" 2>&1) || [ -n "$out" ]; then
    echo "verify.sh: $name:" >&2
    printf '%s\n' "$out" >&2
    failed=1
  fi
}
run() {  # run NAME COMMAND...: fails on a non-zero exit
  name=$1
  shift
  if ! out=$("$@" 2>&1); then
    echo "verify.sh: $name:" >&2
    printf '%s\n' "$out" >&2
    failed=1
  fi
}
cd "$work/system"
check "system units" systemd-analyze verify --man=no \
  ./shortyd.service ./shortyd.socket ./shortyd-control.socket
cd "$work/user"
check "user units" env XDG_RUNTIME_DIR="$work/runtime" \
  systemd-analyze --user verify --man=no \
  ./shortyd.service ./shortyd.socket ./shortyd-control.socket

# The users and the runtime directory the units rely on.
root="$work/root"
mkdir -p "$root/etc" "$root/run"
touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
run "shorty.sysusers" systemd-sysusers --root="$root" "$packaging/shorty.sysusers"
if ! grep -q '^shorty:x:[0-9]*:[0-9]*:shorty link shortener:/var/lib/shorty:' \
  "$root/etc/passwd"; then
  echo "verify.sh: shorty.sysusers made no user shorty" >&2
  failed=1
fi
cp "$packaging/shorty.tmpfiles" "$root/shorty.conf"
run "shorty.tmpfiles" systemd-tmpfiles --root="$root" --create "$root/shorty.conf"
if [ "$(stat -c %a "$root/run/shorty" 2>/dev/null)" != 750 ]; then
  echo "verify.sh: shorty.tmpfiles made no /run/shorty with mode 0750" >&2
  failed=1
fi

cd "$work/system"
report=$(systemd-analyze security --offline=true --no-pager ./shortyd.service 2>&1) || true
exposure=$(printf '%s\n' "$report" |
  sed -n 's/.*Overall exposure level for shortyd.service: \([0-9.]*\).*/\1/p')
if [ -z "$exposure" ]; then
  echo "verify.sh: no exposure level from systemd-analyze security:" >&2
  printf '%s\n' "$report" >&2
  failed=1
elif ! awk -v got="$exposure" -v max="$max_exposure" 'BEGIN { exit !(got <= max) }'; then
  echo "verify.sh: shortyd.service exposure $exposure is above $max_exposure:" >&2
  printf '%s\n' "$report" | grep '✗' >&2 || true
  failed=1
else
  echo "shortyd.service exposure level: $exposure (at most $max_exposure)"
fi
exit $failed

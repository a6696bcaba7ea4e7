#!/bin/sh
# Builds the Debian package from a copy of the source tree, installs it,
# checks what it put where, runs the installed shortyd as the user shorty
# and drives it with the installed shorty as a member of the group shorty,
# runs lintian on it (errors fail, warnings are shown), and purges it again.
# Needs root, dpkg-dev, debhelper, fakeroot, lintian and curl
# (scripts/install-deps). Exits 77 (skipped) when not run as root.
# Usage: run.sh SOURCE_DIR
set -eu

src=$(cd "${1:?usage: run.sh SOURCE_DIR}" && pwd)
package=shorty
tester=shorty-pkgtest

if [ "$(id -u)" -ne 0 ]; then
  echo "package test: needs root (dpkg -i); skipped"
  exit 77
fi
for tool in dpkg-buildpackage dh lintian fakeroot curl setpriv; do
  command -v "$tool" >/dev/null ||
    { echo "package test: $tool is missing; run scripts/install-deps"; exit 1; }
done
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q installed; then
  echo "package test: $package is already installed here; it would be" \
    "purged at the end, so the test refuses to run. Purge it first."
  exit 1
fi

work=$(mktemp -d /tmp/shorty-package.XXXXXX)
chmod 0755 "$work"
daemon_pid=
had_user=no
had_group=no
getent passwd shorty >/dev/null && had_user=yes
getent group shorty >/dev/null && had_group=yes
had_tester=no
getent passwd "$tester" >/dev/null && had_tester=yes
# systemd-tmpfiles makes /run/shorty at install, and a purge leaves it.
had_run_dir=no
[ -e /run/shorty ] && had_run_dir=yes

# apt-get waits for the dpkg lock (another apt-get may be running) where
# dpkg -i would fail at once; it runs dpkg -i and dpkg --purge underneath.
apt() {
  DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 "$@"
}

cleanup() {
  status=$?
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q installed; then
    apt purge "$package" >/dev/null 2>&1 || dpkg --purge "$package" || true
  fi
  [ "$had_tester" = yes ] || userdel "$tester" 2>/dev/null || true
  # A purged package leaves its system user (Debian policy); the test
  # removes what it made, to leave the machine as it found it.
  [ "$had_user" = yes ] || userdel shorty 2>/dev/null || true
  [ "$had_group" = yes ] || groupdel shorty 2>/dev/null || true
  [ "$had_run_dir" = yes ] || rmdir /run/shorty 2>/dev/null || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

failed=0
check() {
  description=$1
  shift
  if "$@"; then
    echo "ok: $description"
  else
    echo "FAIL: $description"
    failed=1
  fi
}

# --- The source: what git tracks or would track, else the tree without
# build directories.
version=$(sed -n 's/^project(shorty VERSION \([0-9.]*\) .*/\1/p' \
  "$src/CMakeLists.txt")
tree=$work/$package-$version
mkdir "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) |
    tar -xf - -C "$tree"
else
  (cd "$src" && tar --exclude='./build*' --exclude=node_modules \
    --exclude=./debian/build -cf - .) | tar -xf - -C "$tree"
fi
check "debian/changelog is at version $version, the version in CMakeLists.txt" \
  test "$(cd "$tree" && dpkg-parsechangelog -S Version)" = "$version"

# --- Build: one binary build, tests off (CI runs them separately).
echo "== dpkg-buildpackage (takes minutes)"
if ! (cd "$tree" &&
  DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
    dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log"
  echo "FAIL: dpkg-buildpackage"
  exit 1
fi
arch=$(dpkg --print-architecture)
deb=$work/${package}_${version}_${arch}.deb
check "the package was built" test -s "$deb"
[ -s "$deb" ] || exit 1

# --- Install.
echo "== install"
apt install --no-install-recommends "$deb" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; echo "FAIL: installing $deb"; exit 1; }
check "dpkg says $package is installed" \
  sh -c "dpkg-query -W -f='\${Status}' $package | grep -q 'install ok installed'"

files=$(dpkg -L "$package")
units=$(cd "$tree/packaging" &&
  for unit in *.service *.socket; do echo "/lib/systemd/system/$unit"; done
  for unit in user/*.service user/*.socket; do
    echo "/usr/lib/systemd/user/${unit#user/}"
  done)
tmpfiles=
[ -e "$tree/packaging/shorty.tmpfiles" ] &&
  tmpfiles=/usr/lib/tmpfiles.d/shorty.conf
for path in \
  /usr/bin/shorty /usr/bin/shortyd $units $tmpfiles \
  /usr/lib/sysusers.d/shorty.conf /etc/shorty/shortyd.toml \
  /usr/share/man/man1/shorty.1.gz /usr/share/man/man8/shortyd.8.gz \
  /usr/share/man/man5/shortyd.toml.5.gz \
  /usr/share/bash-completion/completions/shorty \
  /usr/share/zsh/vendor-completions/_shorty \
  /usr/share/fish/vendor_completions.d/shorty.fish \
  /usr/share/doc/shorty/copyright; do
  check "dpkg -L lists $path, and it is there" \
    sh -c 'printf "%s\n" "$1" | grep -qxF "$2" && test -e "$2"' - "$files" "$path"
done
for unit in /lib/systemd/system/shortyd.service /usr/lib/systemd/user/shortyd.service; do
  program=$(sed -n 's/^ExecStart=-\{0,1\}\([^ ]*\).*/\1/p' "$unit")
  check "$unit starts $program, which the package installs" \
    sh -c 'printf "%s\n" "$1" | grep -qxF "$2" && test -x "$2"' - "$files" "$program"
done
check "/etc/shorty/shortyd.toml is a conffile" \
  sh -c "dpkg-query -W -f='\${Conffiles}' $package | grep -q '^ /etc/shorty/shortyd.toml '"
check "the user shorty exists after install" getent passwd shorty
check "the group shorty exists after install" getent group shorty
check "the service is enabled for boot (without systemd running)" \
  sh -c 'ls /etc/systemd/system/*.wants/shortyd.* >/dev/null 2>&1'
check "shortyd --version names version $version" \
  sh -c "/usr/bin/shortyd --version | grep -qx 'shortyd $version'"
check "shortyd --check-config accepts the packaged config" \
  /usr/bin/shortyd --check-config --config /etc/shorty/shortyd.toml
check "man finds shortyd(8)" \
  sh -c 'MANWIDTH=80 man 8 shortyd 2>/dev/null | grep -q SIGHUP'
check "man finds shortyd.toml(5)" \
  sh -c 'MANWIDTH=80 man 5 shortyd.toml 2>/dev/null | grep -q flush_interval'
check "the bash completion loads and completes 'shorty a'" \
  bash -c 'source /usr/share/bash-completion/completions/shorty &&
    COMP_WORDS=(shorty a) COMP_CWORD=1 && _shorty &&
    [ "${COMPREPLY[*]}" = add ]'

# --- Run the installed shortyd as shorty; drive it with the installed
# shorty as a user in the group shorty.
echo "== run"
srv=$work/srv
mkdir -p "$srv/data" "$srv/run"
chown shorty:shorty "$srv/data" "$srv/run"
chmod 0750 "$srv/data" "$srv/run"
if [ "$had_tester" = no ]; then
  useradd --system --no-create-home --shell /usr/sbin/nologin \
    --groups shorty "$tester"
fi
setpriv --reuid=shorty --regid=shorty --init-groups --reset-env \
  /usr/bin/shortyd --config /etc/shorty/shortyd.toml \
  --db "$srv/data/shorty.db" --socket "$srv/run/shortyd.sock" \
  --listen 127.0.0.1:0 >"$work/shortyd.log" 2>&1 &
daemon_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$work/shortyd.log")
  [ -n "$port" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
check "the installed shortyd starts as shorty" test -n "$port"
if [ -n "$port" ]; then
  check "shortyd runs as the user shorty" \
    sh -c "[ \"\$(ps -o user= -p $daemon_pid)\" = shorty ]"
  as_tester() {
    setpriv --reuid="$tester" --regid="$tester" --init-groups --reset-env \
      "$@"
  }
  short=$(as_tester /usr/bin/shorty --socket "$srv/run/shortyd.sock" \
    add https://example.com/packaged --slug packaged 2>"$work/add.err") || true
  check "shorty add, as a member of the group shorty, prints a short URL" \
    test "$short" = "http://127.0.0.1:$port/packaged"
  [ -s "$work/add.err" ] && cat "$work/add.err"
  followed=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
    "http://127.0.0.1:$port/packaged") || true
  check "the short URL redirects to its target" \
    test "$followed" = "302 https://example.com/packaged"
  tester_lists_link() {
    as_tester /usr/bin/shorty --socket "$srv/run/shortyd.sock" ls |
      grep -q packaged
  }
  check "shorty ls, as a member of the group shorty, lists the link" \
    tester_lists_link
  status=0
  setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env \
    /usr/bin/shorty --socket "$srv/run/shortyd.sock" ls >/dev/null 2>&1 ||
    status=$?
  check "a user outside the group shorty cannot use the control socket" \
    test "$status" -ne 0
  metrics_count_links() {
    as_tester curl -s --unix-socket "$srv/run/shortyd.sock" \
      http://localhost/-/metrics | grep -qx 'shorty_links 1'
  }
  # shorty_links is read from the database at most every 5 s.
  seen=no
  for _ in $(seq 70); do
    metrics_count_links && { seen=yes; break; }
    sleep 0.1
  done
  check "/-/metrics, over the control socket, counts the link" \
    test "$seen" = yes

  # Back up online, as a member of the group, into a directory of the
  # tester's own.
  mkdir -p "$work/backups"
  chown "$tester" "$work/backups"
  check "shorty backup, as a member of the group shorty, writes a checked copy" \
    sh -c '"$@" | grep -q "integrity_check ok"' - \
    setpriv --reuid="$tester" --regid="$tester" --init-groups --reset-env \
    /usr/bin/shorty --socket "$srv/run/shortyd.sock" backup \
    "$work/backups/shorty.db"

  # A golink export (its /.export: JSON lines) imports, and a second time
  # adds nothing.
  printf '%s\n' \
    '{"Short":"wiki","Long":"https://wiki.example.com/","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-02T00:00:00Z","Owner":"ada@example.com"}' \
    '{"Short":"pr","Long":"https://git.example.com/pulls","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-01T00:00:00Z","Owner":"wes@example.com"}' \
    >"$work/golink.jsonl"
  chmod 0644 "$work/golink.jsonl"
  imported() {
    as_tester /usr/bin/shorty --socket "$srv/run/shortyd.sock" --json \
      import "$work/golink.jsonl" | tr -d ' \n' | grep -q "\"$1\":2"
  }
  check "shorty import reads a golink export" imported imported
  check "importing it again adds nothing" imported already_present
  followed=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
    "http://127.0.0.1:$port/wiki/Some/Page") || true
  check "an imported go-link redirects, with its extra path" \
    test "$followed" = "302 https://wiki.example.com/Some/Page"

  kill -TERM "$daemon_pid"
  status=0
  wait "$daemon_pid" || status=$?
  daemon_pid=
  check "shortyd exits 0 on SIGTERM" test "$status" -eq 0

  # Restore, as shortyd(8) says, into a fresh data directory, and serve it.
  mkdir -p "$srv/restored"
  chown shorty:shorty "$srv/restored"
  chmod 0750 "$srv/restored"
  install -o shorty -g shorty -m 0640 "$work/backups/shorty.db" \
    "$srv/restored/shorty.db"
  : >"$work/restored.log"
  setpriv --reuid=shorty --regid=shorty --init-groups --reset-env \
    /usr/bin/shortyd --config /etc/shorty/shortyd.toml \
    --db "$srv/restored/shorty.db" --socket "$srv/run/shortyd.sock" \
    --listen 127.0.0.1:0 >"$work/restored.log" 2>&1 &
  daemon_pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$work/restored.log")
    [ -n "$port" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  check "shortyd starts on the restored backup" test -n "$port"
  if [ -n "$port" ]; then
    followed=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
      "http://127.0.0.1:$port/packaged") || true
    check "the restored database serves the link backed up" \
      test "$followed" = "302 https://example.com/packaged"
    code=$(curl -s -o /dev/null -w '%{http_code}' \
      "http://127.0.0.1:$port/wiki") || true
    check "and not the one imported after the backup" test "$code" = 404
    kill -TERM "$daemon_pid"
    status=0
    wait "$daemon_pid" || status=$?
    daemon_pid=
    check "the restored shortyd exits 0 on SIGTERM" test "$status" -eq 0
  else
    cat "$work/restored.log"
  fi
fi
if [ "$failed" -ne 0 ]; then
  echo "--- shortyd log"
  cat "$work/shortyd.log"
fi

# --- lintian: every finding is printed; errors fail the test unless
# debian/shorty.lintian-overrides gives a reason for them.
echo "== lintian"
status=0
lintian --fail-on error --display-info --no-tag-display-limit "$deb" \
  >"$work/lintian.log" 2>&1 || status=$?
cat "$work/lintian.log"
check "lintian finds no errors" test "$status" -eq 0

# --- Purge, and check that nothing is left behind.
echo "== purge"
apt purge "$package" >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log"; echo "FAIL: purging $package"; failed=1; }
check "dpkg no longer knows $package" \
  sh -c "! dpkg-query -W -f='\${Status}' $package 2>/dev/null | grep -q installed"
for path in /usr/bin/shorty /usr/bin/shortyd /etc/shorty/shortyd.toml \
  /lib/systemd/system/shortyd.service; do
  check "$path is gone" test ! -e "$path"
done
check "no unit of shortyd is left enabled" \
  sh -c '! ls /etc/systemd/system/*/shortyd.* >/dev/null 2>&1'

if [ "$failed" -ne 0 ]; then
  echo "package test: FAILED"
  exit 1
fi
echo "package test: passed"

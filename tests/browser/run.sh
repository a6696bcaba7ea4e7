#!/bin/bash
# The browser test of shortyd's web pages: starts a fresh shortyd on a free
# loopback port, makes a write token with the CLI, and runs web.test.mjs
# (node's test runner, playwright-core driving Debian's Chromium).
#
#   tests/browser/run.sh PATH/TO/shortyd PATH/TO/shorty
#
# Needs node >= 20, npm and /usr/bin/chromium (scripts/install-deps). Installs
# playwright-core from package-lock.json on first use; it downloads no browser.
# Leaves the screenshot and logs in a directory under $TMPDIR (or /tmp) that
# it names at the end.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SHORTYD SHORTY" >&2
  exit 2
fi
SHORTYD=$(realpath "$1")
SHORTY=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${SHORTY_CHROMIUM:-/usr/bin/chromium}

# The test decides every shorty setting itself.
for var in $(compgen -e); do
  case $var in SHORTY_*) unset "$var" ;; esac
done

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "browser test: $tool is missing (scripts/install-deps installs it)" >&2
    exit 1
  fi
done
if [ ! -x "$CHROMIUM" ]; then
  echo "browser test: $CHROMIUM is missing (apt-get install chromium; scripts/install-deps)" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/shorty-browser-XXXXXX")
LOG=$WORK/shortyd.log
SOCKET=$WORK/run/shortyd.sock
DAEMON_PID=

cleanup() {
  local status=$?
  if [ -n "$DAEMON_PID" ]; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$DAEMON_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  # Keep what a person looks at (screenshot, logs); drop the database.
  rm -rf "$WORK/data" "$WORK/run" "$WORK/xdg-config"
  if [ "$status" -ne 0 ] && [ -s "$LOG" ]; then
    echo "--- shortyd log ($LOG) ---" >&2
    tail -n 40 "$LOG" >&2
  fi
  echo "browser test: screenshot and logs in $WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# playwright-core, as package-lock.json pins it; it has no install script
# and never fetches a browser.
if [ ! -f "$HERE/node_modules/playwright-core/package.json" ]; then
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
     npm ci --prefer-offline --no-audit --no-fund)
fi

: > "$WORK/empty.toml"
"$SHORTYD" --db "$WORK/data/shorty.db" --listen 127.0.0.1:0 \
  --socket "$SOCKET" --config "$WORK/empty.toml" </dev/null >"$LOG" 2>&1 &
DAEMON_PID=$!

PORT=
for _ in $(seq 200); do
  PORT=$(sed -n 's/.*listening on port \([0-9][0-9]*\).*/\1/p' "$LOG" | head -n 1)
  [ -n "$PORT" ] && break
  if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    echo "browser test: shortyd exited before listening" >&2
    exit 1
  fi
  sleep 0.05
done
if [ -z "$PORT" ]; then
  echo "browser test: shortyd did not listen within 10 s" >&2
  exit 1
fi

TOKEN_NAME=browser-test
TOKEN=$(XDG_CONFIG_HOME="$WORK/xdg-config" \
  "$SHORTY" --socket "$SOCKET" token create "$TOKEN_NAME" --scope write)
if [ -z "$TOKEN" ]; then
  echo "browser test: shorty token create printed no token" >&2
  exit 1
fi

cd "$HERE"
status=0
SHORTY_URL="http://127.0.0.1:$PORT" SHORTY_TOKEN="$TOKEN" \
SHORTY_TOKEN_NAME="$TOKEN_NAME" SHORTY_SOCKET="$SOCKET" SHORTY_CLI="$SHORTY" \
SHORTY_WORK="$WORK" SHORTY_CHROMIUM="$CHROMIUM" \
  node --test --test-reporter=tap web.test.mjs || status=$?
exit "$status"

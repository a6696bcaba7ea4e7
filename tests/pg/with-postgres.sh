#!/bin/sh
# Runs a command beside a PostgreSQL server of its own: initdb in a new
# temporary directory, the server on a free loopback TCP port (and a Unix
# socket in that directory), then CMD ARGS... with these in its environment:
#
#   SHORTY_TEST_PG          a libpq connection string for the superuser
#                           ("host=127.0.0.1 port=N user=postgres
#                           dbname=postgres"; no password: trust)
#   SHORTY_TEST_PGDATA      the data directory
#   SHORTY_TEST_PGBIN       the directory of pg_ctl, initdb and postgres
#   SHORTY_TEST_PGLOG       the server's log file
#   SHORTY_TEST_PG_RUNAS    the user to run pg_ctl as ("" = the caller)
#
# so that a test may stop and start the server itself:
#   [runuser -u $SHORTY_TEST_PG_RUNAS --] $SHORTY_TEST_PGBIN/pg_ctl \
#     -D $SHORTY_TEST_PGDATA -l $SHORTY_TEST_PGLOG -w stop -m fast
# The server is stopped and the directory removed when CMD ends, and also
# when this script is killed (a watchdog outlives it for that). Exits with
# CMD's status; 2 for a usage error, 3 when the server cannot be started.
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# system user postgres (from Debian's postgresql-15); otherwise as the
# caller. Usage: tests/pg/with-postgres.sh CMD [ARGS...]
set -eu

me=with-postgres.sh
if [ $# -lt 1 ]; then
  echo "usage: $me CMD [ARGS...]" >&2
  exit 2
fi

fail() {
  echo "$me: $*" >&2
  exit 3
}

# The newest installed server, unless SHORTY_TEST_PGBIN names one.
pgbin=${SHORTY_TEST_PGBIN:-}
if [ -z "$pgbin" ]; then
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && pgbin=$dir
  done
fi
if [ -z "$pgbin" ] && command -v initdb >/dev/null 2>&1; then
  pgbin=$(dirname "$(command -v initdb)")
fi
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] && [ -x "$pgbin/pg_ctl" ] ||
  fail "no PostgreSQL server found (looked for /usr/lib/postgresql/*/bin/initdb and initdb on PATH); install it: apt-get install postgresql-15 (scripts/install-deps)"

runas=
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 ||
    fail "run as root, but there is no user 'postgres' to run the server as (PostgreSQL refuses root); install postgresql-15 (scripts/install-deps), or run as another user"
  command -v runuser >/dev/null 2>&1 || fail "runuser (util-linux) not found"
  runas=postgres
fi

# Runs a PostgreSQL program as the server's user, from a directory that
# user can read (the caller's may not be).
as_server() {
  if [ -n "$runas" ]; then
    (cd "$dir" && runuser -u "$runas" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

# As root, under /tmp whatever TMPDIR says: the server's user must reach it.
tmp=${TMPDIR:-/tmp}
[ -z "$runas" ] || tmp=/tmp
dir=$(mktemp -d "$tmp/shorty-pg-XXXXXX")
data=$dir/data
log=$dir/server.log
watchdog=

stop_server() {
  if [ -f "$data/postmaster.pid" ]; then
    as_server "$pgbin/pg_ctl" -D "$data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || true
  fi
  # Whatever pg_ctl could not stop.
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    case $pid in
      '' | *[!0-9]*) ;;
      *) kill -9 "$pid" 2>/dev/null || true ;;
    esac
  fi
}

cleanup() {
  status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$watchdog" ]; then
    kill "$watchdog" 2>/dev/null || true
  fi
  stop_server
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Should this script be killed outright (SIGKILL from a test runner's
# timeout), a watchdog stops the server and removes the directory, after a
# moment for a pg_ctl or initdb of ours to finish. Its output goes nowhere,
# so no runner waits on it.
(
  trap '' HUP INT
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  sleep 2
  stop_server
  rm -rf "$dir"
) </dev/null >/dev/null 2>&1 &
watchdog=$!

chmod 700 "$dir"
[ -z "$runas" ] || chown "$runas" "$dir"

# -N: no fsync while initdb writes; trust: the server listens on loopback
# and in a directory only its user may enter, for a test's lifetime.
if ! as_server "$pgbin/initdb" -D "$data" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C -N >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  fail "initdb failed (output above)"
fi

# A random port in 20000..59999; one that turns out taken is tried again.
random_port() {
  n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  echo $((20000 + n % 40000))
}

started=
for attempt in 1 2 3 4 5 6 7 8; do
  port=$(random_port)
  # Settings in the data directory itself, so that pg_ctl start with no
  # options (as a test restarting the server runs it) starts the same
  # server. Durability is of no use to a test: off, for speed.
  cat >"$data/shorty.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  [ -z "$runas" ] || chown "$runas" "$data/shorty.conf"
  grep -q "^include_if_exists = 'shorty.conf'" "$data/postgresql.conf" ||
    echo "include_if_exists = 'shorty.conf'" >>"$data/postgresql.conf"
  : >"$log"
  [ -z "$runas" ] || chown "$runas" "$log"
  if as_server "$pgbin/pg_ctl" -D "$data" -l "$log" -w -t 60 start \
    >/dev/null 2>&1; then
    started=yes
    break
  fi
  stop_server
  if ! grep -q -i 'could not bind\|address already in use' "$log"; then
    break  # not a taken port: trying others will not help
  fi
done
if [ -z "$started" ]; then
  echo "$me: the PostgreSQL server's log ($log):" >&2
  sed 's/^/  /' "$log" >&2 || true
  fail "the PostgreSQL server did not start (log above)"
fi

# pg_ctl -w waits for the server to accept connections; pg_isready checks
# the TCP listener the test will use.
if [ -x "$pgbin/pg_isready" ]; then
  ready=
  for attempt in $(seq 1 60); do
    if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 5; then
      ready=yes
      break
    fi
    sleep 0.5
  done
  if [ -z "$ready" ]; then
    sed 's/^/  /' "$log" >&2 || true
    fail "the PostgreSQL server started but does not accept connections on 127.0.0.1:$port (log above)"
  fi
fi

export SHORTY_TEST_PG="host=127.0.0.1 port=$port user=postgres dbname=postgres"
export SHORTY_TEST_PGDATA="$data"
export SHORTY_TEST_PGBIN="$pgbin"
export SHORTY_TEST_PGLOG="$log"
export SHORTY_TEST_PG_RUNAS="$runas"

set +e
"$@"
status=$?
set -e
if [ "$status" -ne 0 ] && [ -s "$log" ]; then
  echo "$me: $1 exited with status $status; the server's log ends:" >&2
  tail -n 20 "$log" | sed 's/^/  /' >&2
fi
exit "$status"

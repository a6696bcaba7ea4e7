# Shared by the benchmarks (bench/run, bench/scaling): a temp dir cleaned
# up on exit, the tools (wrk, nginx, a built shortyd), starting nginx and
# shortyd on free loopback ports, importing links, and one wrk run whose
# figures land in the R_* arrays. Sourced, not run; the caller sets
# `set -euo pipefail` first.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DURATION=${BENCH_DURATION:-10s}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
HOT=1000

say() { printf '%s\n' "$*"; }
die() { printf 'bench/run: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/shorty-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one process started here and waits for it (at most 30 s).
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- tools
apt_install() {
  say "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$TMP/apt.log" 2>&1 ||
    { apt-get update -qq >>"$TMP/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$TMP/apt.log" 2>&1; }
}
command -v wrk >/dev/null || apt_install wrk || die "cannot install wrk (see apt-get)"
command -v curl >/dev/null || apt_install curl || die "cannot install curl"
NGINX=/usr/sbin/nginx
if [ ! -x "$NGINX" ]; then
  had_service_pid=$( [ -e /run/nginx.pid ] && echo yes || echo no )
  apt_install nginx-light || apt_install nginx || die "cannot install nginx"
  [ -x "$NGINX" ] || die "no $NGINX after installing nginx"
  # Debian's package may start its service on port 80; this run uses its own.
  if [ "$had_service_pid" = no ] && [ -s /run/nginx.pid ]; then
    say "stopping the nginx service the package started"
    "$NGINX" -s stop 2>/dev/null || kill -TERM "$(cat /run/nginx.pid)" 2>/dev/null || true
  fi
fi

SHORTYD="$ROOT/build/shortyd"
SHORTY="$ROOT/build/shorty"
if [ ! -x "$SHORTYD" ] || [ ! -x "$SHORTY" ]; then
  say "building shortyd (cmake --preset default)"
  (cd "$ROOT" && cmake --preset default >"$TMP/build.log" 2>&1 &&
    cmake --build --preset default >>"$TMP/build.log" 2>&1) ||
    { tail -20 "$TMP/build.log" >&2; die "build failed"; }
fi

ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true
# Nothing from the caller's environment changes the daemons under test.
for v in $(env | sed -n 's/^\(SHORTY_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset JOURNAL_STREAM NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

# ---------------------------------------------------------------- helpers
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Htln "( sport = :$p )" 2>/dev/null | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# "anonymous A MiB, file-backed F MiB" of a process.
rss_parts() {
  awk '/^RssAnon:/ {a = $2} /^RssFile:/ {f = $2}
       END {printf "anonymous %.1f MiB, file-backed %.1f MiB", a / 1024, f / 1024}' "/proc/$1/status"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# start_shortyd NAME DB THREADS: a shortyd in $TMP/NAME with its own config,
# control socket and a free port. DB is a SQLite file, or "postgres:CONNINFO"
# for the PostgreSQL store; SD_CACHE_ENTRIES, when set, sizes the redirect
# cache. Sets SD_PID, SD_PORT, SD_SOCK, SD_DIR.
start_shortyd() {
  local name=$1 db=$2 threads=$3 i
  local store_args=(--db "$db") storage=""
  if [ "${db#postgres:}" != "$db" ]; then
    store_args=()
    storage=$(printf '[storage]\nbackend = "postgres"\npostgres = "%s"\n' "${db#postgres:}")
  fi
  SD_DIR="$TMP/$name"
  SD_SOCK="$SD_DIR/ctl.sock"
  mkdir -p "$SD_DIR"
  cat >"$SD_DIR/shortyd.toml" <<TOML
# bench/run: the defaults, with every rate limit off so that the creation
# run is not throttled.
[server]
threads = $threads
access_log = ""

[cache]
entries = ${SD_CACHE_ENTRIES:-10000}

[links]
blocklist_file = ""

[limits]
create_per_minute = 0
signin_per_minute = 0
password_per_minute = 0
not_found_per_minute = 0

$storage
TOML
  "$SHORTYD" --config "$SD_DIR/shortyd.toml" --check-config >"$SD_DIR/check.log" 2>&1 ||
    { cat "$SD_DIR/check.log" >&2; die "shortyd refuses the bench config"; }
  "$SHORTYD" --config "$SD_DIR/shortyd.toml" "${store_args[@]}" --socket "$SD_SOCK" \
    --listen 127.0.0.1:0 >"$SD_DIR/shortyd.log" 2>&1 &
  SD_PID=$!
  PIDS+=("$SD_PID")
  SD_PORT=
  for i in $(seq 1 300); do
    SD_PORT=$(sed -n 's/.*listening on port \([0-9][0-9]*\).*/\1/p' "$SD_DIR/shortyd.log" | head -1)
    [ -n "$SD_PORT" ] && break
    kill -0 "$SD_PID" 2>/dev/null || { cat "$SD_DIR/shortyd.log" >&2; die "shortyd $name exited"; }
    sleep 0.1
  done
  [ -n "$SD_PORT" ] || { cat "$SD_DIR/shortyd.log" >&2; die "shortyd $name did not start in 30 s"; }
  [ -S "$SD_SOCK" ] || die "shortyd $name has no control socket at $SD_SOCK"
}

# import_links N: writes a golink export of N links and imports it into the
# current shortyd over its control socket. Sets IMPORT_S and IMPORTED.
import_links() {
  local n=$1 file="$SD_DIR/golink-$1.jsonl" t0 t1
  "$BENCH/gen_golink.sh" "$n" >"$file"
  t0=$(date +%s.%N)
  "$SHORTY" --socket "$SD_SOCK" --json import "$file" --from golink \
    >"$SD_DIR/import.json" 2>"$SD_DIR/import.err" ||
    { cat "$SD_DIR/import.err" >&2; die "shorty import of $n links failed"; }
  t1=$(date +%s.%N)
  IMPORT_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  IMPORTED=$(sed -n 's/.*"imported": *\([0-9][0-9]*\).*/\1/p' "$SD_DIR/import.json" | head -1)
  [ "${IMPORTED:-0}" -eq "$n" ] || die "imported ${IMPORTED:-?} of $n links (see $SD_DIR/import.json)"
  rm -f "$file"
}

# hot_set N OUT: N distinct random slugs of link0..link$((LINKS-1)).
hot_set() {
  awk -v n="$1" -v total="$2" 'BEGIN {
    srand();
    if (n > total) n = total;
    while (k < n) { i = int(rand() * total); if (!(i in seen)) { seen[i] = 1; k++; print "link" i } }
  }' >"$3"
}

expect_status() {
  local want=$1 got
  shift
  got=$(curl -s -o /dev/null -w '%{http_code}' "$@") || true
  [ "$got" = "$want" ] || die "expected HTTP $want from $*, got $got"
}

# run_wrk KEY CONNS URL SCRIPT: one wrk run; the figures land in R_* [KEY].
declare -A R_RPS R_P50 R_P99 R_P999 R_ERR R_NON2XX R_CONNS
run_wrk() {
  local key=$1 conns=$2 url=$3 script=$4 out="$TMP/wrk-$1.txt" line
  local threads=$WRK_THREADS
  [ "$conns" -lt "$threads" ] && threads=$conns
  wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s "$script" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed ($key)"; }
  line=$(grep '^BENCH ' "$out" | tail -1)
  [ -n "$line" ] || { cat "$out" >&2; die "no figures from wrk ($key)"; }
  eval "$(printf '%s\n' "$line" | awk '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "local rps=%d p50=%.2f p99=%.2f p999=%.2f ", v["requests"] / (v["duration_us"] / 1e6),
      v["p50_us"] / 1000, v["p99_us"] / 1000, v["p999_us"] / 1000
    printf "sock=\"connect %d, read %d, write %d, timeout %d\" non2xx=%d\n",
      v["connect"], v["read"], v["write"], v["timeout"], v["status"]
  }')"
  R_RPS[$key]=$rps R_P50[$key]=$p50 R_P99[$key]=$p99 R_P999[$key]=$p999
  R_ERR[$key]=$sock R_NON2XX[$key]=$non2xx R_CONNS[$key]=$conns
  printf '  %-24s %4s conns: %8s req/s  p50 %7s ms  p99 %7s ms  p99.9 %7s ms  socket errors: %s; non-2xx/3xx: %s\n' \
    "$key" "$conns" "$rps" "$p50" "$p99" "$p999" "$sock" "$non2xx"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }

# start_nginx: nginx from Debian's packages answering every request with
# `return 302` and a fixed Location, the ceiling for a redirect here. Sets
# NG_PORT and NG_PID.
start_nginx() {
  NG="$TMP/nginx"
  mkdir -p "$NG/tmp"
  NG_PORT=$(free_port) || die "no free port for nginx"
  cat >"$NG/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NG_PORT;
    location / { return 302 https://example.com/x; }
  }
}
CONF
  "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" &
  NG_PID=$!
  PIDS+=("$NG_PID")
  local i
  for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$NG_PORT/" && break
    kill -0 "$NG_PID" 2>/dev/null || { cat "$NG/error.log" >&2; die "nginx exited"; }
    sleep 0.1
  done
  expect_status 302 "http://127.0.0.1:$NG_PORT/link1"
}

# machine_header: what the run is on, printed first.
machine_header() {
  DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
  NPROC=$(nproc)
  MEM=$(free -h | awk '/^Mem:/ {print $2}')
  CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  say "machine: $NPROC cores ($CPU), $MEM memory; wrk -t$WRK_THREADS -d$DURATION --latency, keep-alive"
  say "$(wrk -v 2>&1 | head -1 | cut -c1-60); $("$NGINX" -v 2>&1); $("$SHORTYD" --version 2>&1 | head -1)"
}

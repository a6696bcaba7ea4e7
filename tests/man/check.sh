#!/bin/sh
# Checks the built manual pages: mandoc's linter finds nothing at warning
# level or above, man(1) renders each page without a warning, and the pages
# name every subcommand and option of the built shorty, every option of the
# built shortyd, and every setting in shared/config.cc.
# Usage: check.sh MANDIR SOURCE_DIR SHORTY SHORTYD
set -eu
mandir=$1 src=$2 shorty=$3 shortyd=$4
failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}

for page in shorty.1 shortyd.8 shortyd.toml.5; do
  file=$mandir/$page
  if [ ! -s "$file" ]; then
    fail "$file is missing or empty"
    continue
  fi
  # scdoc puts a .P before and after every section heading; mandoc warns
  # that it skips them. Those two messages are scdoc's and harmless; any
  # other warning or error fails. (-W warning: warnings and worse only;
  # exit 2 for warnings, 3 or more for errors.)
  status=0
  lint=$(mandoc -Tlint -W warning "$file" 2>&1) || status=$?
  findings=$(printf '%s\n' "$lint" |
    grep -v -E 'WARNING: skipping paragraph macro: PP (empty|after SH)$' |
    grep -v '^$' || true)
  if [ "$status" -gt 2 ] || [ -n "$findings" ]; then
    fail "mandoc -Tlint $page (exit $status):"
    printf '%s\n' "$findings"
  fi
  # man(1) through groff: warnings go to stderr.
  warnings=$(MANWIDTH=80 man --warnings -l "$file" 2>&1 >/dev/null) ||
    fail "man -l $page failed"
  if [ -n "$warnings" ]; then
    fail "man -l $page warns:"
    printf '%s\n' "$warnings"
  fi
  MANWIDTH=80 man -l "$file" 2>/dev/null | grep -q '^NAME' ||
    fail "man -l $page renders no NAME section"
done

# Every subcommand and option of shorty, as its own completion script lists
# them, appears in bold in shorty(1), alone or in a phrase such as
# "*token create*".
page=$src/man/shorty.1.scd
words=$("$shorty" completion bash |
  sed -n "s/^ *\(subs\|opts\)='\(.*\)'$/\2/p" | tr ' ' '\n' | sort -u)
[ -n "$words" ] || fail "no subcommands or options read from $shorty"
for word in $words; do
  grep -q -E -e "\*([^*]* )?$word( [^*]*)?\*" "$page" ||
    fail "shorty.1.scd does not document '$word'"
done

# Every option in shortyd --help appears in bold in shortyd(8).
page=$src/man/shortyd.8.scd
flags=$("$shortyd" --help | grep -o -E -e '--[a-z][a-z-]*' | sort -u)
[ -n "$flags" ] || fail "no options read from shortyd --help"
for flag in $flags; do
  grep -q -F -e "*$flag*" "$page" || fail "shortyd.8.scd does not document '$flag'"
done

# Every daemon setting ("section.key" in the settings table) appears in
# shortyd.toml(5) under its section, and by its environment variable.
page=$src/man/shortyd.toml.5.scd
keys=$(sed -n 's/^ *{"\([a-z_]*\)\.\([a-z_]*\)", Kind::.*/\1.\2/p' \
  "$src/shared/config.cc")
[ -n "$keys" ] || fail "no settings read from shared/config.cc"
for key in $keys; do
  section=${key%%.*} name=${key#*.}
  heading=$(echo "$section" | tr a-z A-Z)
  variable=SHORTY_$(echo "${section}_$name" | tr a-z A-Z)
  awk -v h="# $heading" -v k="*$name* = " '
    $0 == h { in_section = 1; next }
    /^# / { in_section = 0 }
    in_section && index($0, k) == 1 { found = 1 }
    END { exit !found }' "$page" ||
    fail "shortyd.toml.5.scd has no '*$name* = ' under '# $heading'"
  grep -q -F -e "*$variable*" "$page" ||
    fail "shortyd.toml.5.scd does not name $variable"
done

[ "$failed" -eq 0 ] && echo "manual pages OK"
exit "$failed"

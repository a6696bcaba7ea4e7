#!/bin/sh
# Writes N lines of a golink export (its /.export format: JSON lines with
# Short, Long, Created, LastEdit and Owner) to standard output, for the
# import benchmark. N defaults to 1000000.
set -eu
n=${1:-1000000}
awk -v n="$n" 'BEGIN {
  for (i = 0; i < n; i++) {
    printf "{\"Short\":\"link%d\",\"Long\":\"https://example.com/docs/page/%d?ref=bench\",\"Created\":\"2023-01-01T00:00:%02dZ\",\"LastEdit\":\"2023-06-01T12:00:00Z\",\"Owner\":\"user%d@example.com\"}\n", i, i, i % 60, i % 100
  }
}'

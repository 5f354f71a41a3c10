#!/usr/bin/env bash
# Writes a SANE configuration folder that enables only SANE's `test` virtual scanner, for
# SANE_CONFIG_DIR. Usage: scripts/sane-test-config.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
mkdir -p "$dir"
echo "test" > "$dir/dll.conf"
if [ -f /etc/sane.d/test.conf ]; then
  # The test scanner draws its colour pattern, not the shipped solid black, so the pages a person
  # scans in the demo (make run) show something. Tests that need a given picture set it themselves.
  sed 's/^test-picture .*/test-picture "Color pattern"/' /etc/sane.d/test.conf > "$dir/test.conf"
  grep -q '^test-picture "Color pattern"' "$dir/test.conf" || echo 'test-picture "Color pattern"' >> "$dir/test.conf"
else
  echo "sane-test-config.sh: /etc/sane.d/test.conf is missing; install libsane1" >&2
  exit 1
fi

#!/usr/bin/env bash
# Writes a SANE configuration folder that enables only SANE's `test` virtual scanner, for
# SANE_CONFIG_DIR. Usage: scripts/sane-test-config.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
mkdir -p "$dir"
echo "test" > "$dir/dll.conf"
if [ -f /etc/sane.d/test.conf ]; then
  cp /etc/sane.d/test.conf "$dir/test.conf"
else
  echo "sane-test-config.sh: /etc/sane.d/test.conf is missing; install libsane1" >&2
  exit 1
fi

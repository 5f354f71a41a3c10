#!/bin/sh
# Uninstalls ScanBridge (installed as /opt/scanbridge/uninstall.sh by the .deb and .rpm).
#   uninstall.sh            stop and disable the service, remove the package; keeps the
#                           configuration, certificates, logs and stored documents
#   uninstall.sh --purge    also delete the configuration, certificates, logs, cache and dumps
#                           (stored documents in storage/ are kept unless --delete-documents)
#   uninstall.sh --purge --delete-documents   delete everything under /opt/scanbridge
# Non-interactive; run as root (or it re-runs itself with sudo).
set -eu

purge=no
documents=no
for argument in "$@"; do
    case "$argument" in
        --purge) purge=yes ;;
        --delete-documents) documents=yes ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "uninstall.sh: unknown option $argument (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$documents" = yes ] && [ "$purge" = no ]; then
    echo "uninstall.sh: --delete-documents needs --purge" >&2; exit 2
fi
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi

home=/opt/scanbridge
# The copy in /opt/scanbridge disappears with the package; keep running from a temporary copy.
case "$0" in
    "$home"/*) copy=$(mktemp); cp "$0" "$copy"; chmod 755 "$copy"; exec "$copy" "$@" ;;
esac

if dpkg-query -W -f='${Status}' scanbridge 2>/dev/null | grep -q "ok installed"; then
    if [ "$purge" = yes ]; then dpkg --purge scanbridge; else dpkg --remove scanbridge; fi
elif command -v rpm >/dev/null 2>&1 && rpm -q scanbridge >/dev/null 2>&1; then
    rpm -e scanbridge
    if [ "$purge" = yes ]; then
        for folder in cache cert dump log upload; do rm -rf "${home:?}/$folder"; done
        rm -f "$home/DSConfiguration.ini" "$home/service.ini" "$home/user_config.ini" "$home/.removed"
    fi
else
    echo "uninstall.sh: the scanbridge package is not installed (neither dpkg nor rpm knows it)" >&2
    exit 1
fi

if [ "$documents" = yes ]; then rm -rf "${home:?}"; fi
if [ -d "$home" ]; then
    echo "uninstall.sh: ScanBridge removed; kept in $home: $(ls "$home" | tr '\n' ' ')"
else
    echo "uninstall.sh: ScanBridge removed"
fi
case "$0" in /tmp/*) rm -f "$0" ;; esac

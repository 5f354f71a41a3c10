# Unit control for the .deb, through init-system-helpers as debhelper-built packages do.
sb_enable() { # sb_enable install|upgrade: enable on install; on upgrade keep the administrator's choice
    if [ "$1" = install ] || deb-systemd-helper --quiet was-enabled "$SB_UNIT"; then
        deb-systemd-helper enable "$SB_UNIT" >/dev/null || true
    else
        deb-systemd-helper update-state "$SB_UNIT" >/dev/null || true
    fi
}
# On removal: disable and forget (`disable` alone would make a later reinstall keep it off).
sb_disable() { deb-systemd-helper purge "$SB_UNIT" >/dev/null 2>&1 || true; }
sb_forget() { deb-systemd-helper purge "$SB_UNIT" >/dev/null 2>&1 || true; }
sb_daemon_reload() { systemctl --system daemon-reload >/dev/null || true; }
sb_start() { deb-systemd-invoke start "$SB_UNIT"; }
sb_restart() { deb-systemd-invoke try-restart "$SB_UNIT"; }
sb_stop() { deb-systemd-invoke stop "$SB_UNIT" >/dev/null 2>&1 || true; }

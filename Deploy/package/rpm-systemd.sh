# Unit control for the .rpm, with systemctl (what the %systemd_* macros expand to).
sb_enable() { if [ "$1" = install ]; then systemctl --no-reload enable "$SB_UNIT" >/dev/null 2>&1 || true; fi; }
sb_disable() { systemctl --no-reload disable "$SB_UNIT" >/dev/null 2>&1 || true; }
sb_forget() { :; }
sb_daemon_reload() { systemctl daemon-reload >/dev/null 2>&1 || true; }
sb_start() { systemctl start "$SB_UNIT"; }
sb_restart() { systemctl try-restart "$SB_UNIT"; }
sb_stop() { systemctl stop "$SB_UNIT" >/dev/null 2>&1 || true; }

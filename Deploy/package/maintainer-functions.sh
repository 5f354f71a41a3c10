# ScanBridge maintainer-script functions, shared by the .deb (postinst/prerm/postrm) and the .rpm
# (%post/%preun/%postun) scripts, which Deploy/package.sh builds from this file, the unit
# control functions of the format (deb-systemd.sh: deb-systemd-helper/-invoke, which respect
# an administrator's masks and policy-rc.d; rpm-systemd.sh: systemctl) and a short dispatcher. POSIX sh. Everything honours $DPKG_ROOT (dpkg --root with
# --force-script-chrootless), so the tests can install into a throwaway root.

SB_ROOT="${DPKG_ROOT:-}"
SB_HOME="$SB_ROOT/opt/scanbridge"
SB_USER=scanbridge
SB_UNIT=scanbridge.service
SB_DATA_FOLDERS="cache cert dump log upload storage journal"

sb_log() { echo "scanbridge: $*"; }

# True when this runs on the live system (not into another root) under a running systemd.
sb_systemd_running() { [ -z "$SB_ROOT" ] && [ -d /run/systemd/system ]; }

# The numeric id of a user or group in the target root's databases (getent on the live system,
# which also sees LDAP/NIS; the root's own files otherwise).
sb_id() { # sb_id passwd|group NAME
    if [ -z "$SB_ROOT" ]; then getent "$1" "$2" | cut -d: -f3; else awk -F: -v n="$2" '$1 == n { print $3 }' "$SB_ROOT/etc/$1" 2>/dev/null; fi
}

# groupadd/useradd on the target root's account files.
sb_groupadd() { if [ -n "$SB_ROOT" ]; then groupadd --prefix "$SB_ROOT" "$@"; else groupadd "$@"; fi; }
sb_useradd() { if [ -n "$SB_ROOT" ]; then useradd --prefix "$SB_ROOT" "$@"; else useradd "$@"; fi; }

# The `scanner` group (SANE's udev rules give it the scanners) and the `scanbridge` system user
# in it, whose home is the service folder and who cannot log in.
sb_create_user() {
    if [ -z "$(sb_id group scanner)" ]; then
        sb_groupadd --system scanner
    fi
    if [ -z "$(sb_id passwd "$SB_USER")" ]; then
        extra=scanner
        if [ -n "$(sb_id group video)" ]; then extra=scanner,video; fi
        sb_useradd --system --user-group --groups "$extra" --home-dir /opt/scanbridge \
            --no-create-home --shell /usr/sbin/nologin --comment "ScanBridge scanning service" "$SB_USER"
        sb_log "created the system user $SB_USER (groups: $extra)"
    fi
}

# The service folder: root owns the programs; the service owns its data and configuration and
# may create files in the folder itself (group-writable, sticky: it cannot replace bin/).
sb_create_folders() {
    uid=$(sb_id passwd "$SB_USER"); gid=$(sb_id group "$SB_USER")
    chown 0:"$gid" "$SB_HOME"
    chmod 1775 "$SB_HOME"
    for folder in $SB_DATA_FOLDERS; do
        mkdir -p "$SB_HOME/$folder"
        chown "$uid:$gid" "$SB_HOME/$folder"
        chmod 0750 "$SB_HOME/$folder"
    done
    # The configuration is the administrator's: installed once, never overwritten on upgrade.
    if [ ! -e "$SB_HOME/DSConfiguration.ini" ]; then
        cp "$SB_HOME/share/DSConfiguration.ini" "$SB_HOME/DSConfiguration.ini"
        chown "$uid:$gid" "$SB_HOME/DSConfiguration.ini"
        chmod 0640 "$SB_HOME/DSConfiguration.ini"
    fi
}

# The TLS certificate for 127.0.0.1, unless one is there already (replaced or generated before).
sb_generate_certificate() {
    if [ -e "$SB_HOME/cert/server.pem" ] && [ -e "$SB_HOME/cert/server_key.pem" ]; then return 0; fi
    # `cert` exists in builds that have the TLS part (its --help lists it as a subcommand).
    if "$SB_HOME/bin/scanbridge" --help 2>/dev/null | grep -Eq "^ +cert( |$)"; then
        if "$SB_HOME/bin/scanbridge" cert --home "$SB_HOME"; then
            # Recursive: cert/private holds the CA key, which the service reads for the next certificate.
            chown -R "$(sb_id passwd "$SB_USER"):$(sb_id group "$SB_USER")" "$SB_HOME/cert"
            sb_log "generated the TLS certificate in $SB_HOME/cert"
        else
            sb_log "warning: could not generate the TLS certificate; the HTTPS ports stay off until cert/server.pem and cert/server_key.pem exist"
        fi
    else
        sb_log "this build has no 'scanbridge cert'; put server.pem and server_key.pem into $SB_HOME/cert for HTTPS"
    fi
}

sb_configure() { # sb_configure install|upgrade
    # Installed again after a removal (data kept, package gone): enable and start as on a first
    # install, since the removal disabled the unit.
    if [ "$1" = upgrade ] && [ -e "$SB_HOME/.removed" ]; then set -- install; fi
    rm -f "$SB_HOME/.removed"
    sb_create_user
    sb_create_folders
    sb_generate_certificate
    if [ -n "$SB_ROOT" ]; then
        sb_log "installed into $SB_ROOT; services are not enabled or started in another root"
        return 0
    fi
    sb_enable "$1"
    if sb_systemd_running; then
        sb_daemon_reload
        if [ "$1" = install ]; then
            sb_start || sb_log "warning: the service did not start; see: journalctl -u scanbridge"
        else
            sb_restart || sb_log "warning: the service did not restart; see: journalctl -u scanbridge"
        fi
    else
        sb_log "systemd is not running here; start the service with: runuser -u scanbridge -- /opt/scanbridge/bin/scanbridge monitor --home /opt/scanbridge"
    fi
}

sb_stop_and_disable() {
    if sb_systemd_running; then sb_stop; fi
    if [ -z "$SB_ROOT" ]; then sb_disable; fi
    if [ -d "$SB_HOME" ]; then : > "$SB_HOME/.removed"; fi
}

sb_after_removal() {
    if sb_systemd_running; then sb_daemon_reload; fi
}

# Purge: everything the service wrote, except stored documents, which are the users' data.
sb_purge() {
    if [ -z "$SB_ROOT" ]; then sb_forget; fi
    for folder in cache cert dump log upload journal; do rm -rf "${SB_HOME:?}/$folder"; done
    rm -f "$SB_HOME/DSConfiguration.ini" "$SB_HOME/service.ini" "$SB_HOME/user_config.ini" "$SB_HOME/.removed"
    if [ -d "$SB_HOME/storage" ] && [ -n "$(ls -A "$SB_HOME/storage" 2>/dev/null)" ]; then
        sb_log "kept $SB_HOME/storage (stored documents); delete it by hand when no longer needed"
    else
        rm -rf "$SB_HOME/storage"
        rmdir "$SB_HOME" 2>/dev/null || true
    fi
}

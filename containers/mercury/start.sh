#!/bin/bash
# start.sh COMMAND...: the docker-stacks start contract. Runs the hooks in
# /usr/local/bin/start-notebook.d (first) and /usr/local/bin/before-notebook.d (just before the command),
# then runs COMMAND as $NB_USER. Hooks ending in .sh are sourced, other executables are run.
# Started as root (docker run --user root), it also honours NB_UID, NB_GID and CHOWN_HOME=yes,
# then drops to $NB_USER.
set -e

_log() { [ "${VRELAB_START_QUIET:-0}" = 1 ] || echo "[start.sh] $*" >&2; }

run_hooks() {
    local dir=$1
    [ -d "$dir" ] || return 0
    _log "running hooks in $dir as uid $(id -u)"
    local f
    for f in "$dir"/*; do
        case "$f" in
            *.sh) _log "sourcing $f"; # shellcheck disable=SC1090
                  source "$f" ;;
            *) if [ -f "$f" ] && [ -x "$f" ]; then _log "running $f"; "$f"; fi ;;
        esac
    done
}

if [ $# -eq 0 ]; then
    set -- bash
fi

run_hooks /usr/local/bin/start-notebook.d

if [ "$(id -u)" = 0 ]; then
    : "${NB_USER:=jovyan}" "${NB_UID:=1000}" "${NB_GID:=100}"
    current_uid=$(id -u "$NB_USER")
    current_gid=$(id -g "$NB_USER")
    if [ "$NB_GID" != "$current_gid" ]; then
        _log "setting the group of $NB_USER to $NB_GID"
        getent group "$NB_GID" >/dev/null || groupadd --gid "$NB_GID" "$NB_USER"
        usermod --gid "$NB_GID" "$NB_USER"
    fi
    if [ "$NB_UID" != "$current_uid" ]; then
        _log "setting the uid of $NB_USER to $NB_UID"
        usermod --uid "$NB_UID" "$NB_USER"
    fi
    if [ "${CHOWN_HOME:-no}" = yes ] || [ "$NB_UID" != "$current_uid" ]; then
        _log "chown $HOME to $NB_UID:$NB_GID"
        chown ${CHOWN_HOME_OPTS:-} "$NB_UID:$NB_GID" "/home/$NB_USER"
    fi
    run_hooks /usr/local/bin/before-notebook.d
    _log "running as $NB_USER: $*"
    exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups env HOME="/home/$NB_USER" USER="$NB_USER" "$@"
fi

run_hooks /usr/local/bin/before-notebook.d
_log "running: $*"
exec "$@"

#!/bin/bash
# start-singleuser.sh [ARGS...]: a single-user server under JupyterHub. The hub passes who the user is
# and how to reach it through JUPYTERHUB_* environment variables (API token, API URL, service prefix,
# user); jupyterhub-singleuser reads them. $NOTEBOOK_ARGS and ARGS are passed on.
set -e
args=()
case " ${NOTEBOOK_ARGS:-} $* " in
    *" --ip="*) ;;
    *) args+=("--ip=0.0.0.0") ;;
esac
# shellcheck disable=SC2086
exec /usr/local/bin/start.sh jupyterhub-singleuser "${args[@]}" ${NOTEBOOK_ARGS:-} "$@"

#!/bin/bash
# start-notebook.sh [ARGS...]: the image's default command. Under JupyterHub (JUPYTERHUB_API_TOKEN set)
# it hands over to start-singleuser.sh; otherwise it starts `jupyter $DOCKER_STACKS_JUPYTER_CMD`
# (lab by default) with $NOTEBOOK_ARGS and ARGS.
set -e
if [ -n "${JUPYTERHUB_API_TOKEN:-}" ]; then
    exec /usr/local/bin/start-singleuser.sh "$@"
fi
# shellcheck disable=SC2086
exec /usr/local/bin/start.sh jupyter "${DOCKER_STACKS_JUPYTER_CMD:-lab}" ${NOTEBOOK_ARGS:-} "$@"

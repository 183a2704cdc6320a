#!/bin/bash
# before-notebook.d hook (sourced by start.sh): the school notebooks into ~/notebooks, never overwriting
# what the user already has there. VRELAB_SCHOOL_NOTEBOOKS=no turns it off.
if [ "${VRELAB_SCHOOL_NOTEBOOKS:-yes}" != no ] && [ -d /usr/local/share/vrelab/notebooks ]; then
    _dest="/home/${NB_USER:-jovyan}/notebooks"
    if [ ! -e "$_dest" ]; then
        cp -r /usr/local/share/vrelab/notebooks "$_dest"
        [ "$(id -u)" = 0 ] && chown -R "${NB_UID:-1000}:${NB_GID:-100}" "$_dest"
    fi
    unset _dest
fi
true

#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by `meson install` once the files are in place (data/meson.build):
#   install-live.sh SYSUSERS_FILE TMPFILES_FILE
# Into a DESTDIR (a package build) it does nothing. On the running system it
# does what the Debian package's postinst does, in the order that matters:
# dbus-daemon read net.groupd1.conf when it landed, before the user groupd
# and the group netdev existed, and dropped their rules (groupd then cannot
# own net.groupd1). So: the users first, then /run/groupd, then the bus and
# systemd read their configuration again. It neither enables nor starts
# groupd.
set -eu

if [ -n "${MESON_INSTALL_DRY_RUN:-}" ] ||
    [ "${MESON_INSTALL_DESTDIR_PREFIX:-}" != "${MESON_INSTALL_PREFIX:-}" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "groupd: not root: run systemd-sysusers, systemd-tmpfiles --create and" \
        "reload dbus yourself (see docs/install.md)" >&2
    exit 0
fi

if ! command -v systemd-sysusers >/dev/null; then
    echo "groupd: no systemd-sysusers: create the user groupd and the group netdev, then" \
        "reload dbus, before starting groupd (see docs/install.md)" >&2
    exit 0
fi
systemd-sysusers "$1"
systemd-tmpfiles --create "$2"
if [ -S /run/dbus/system_bus_socket ]; then
    echo "groupd: the system bus reads its configuration again"
    dbus-send --system --print-reply=literal --type=method_call \
        --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.ReloadConfig \
        >/dev/null
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

#!/usr/bin/env bash
# Removes what scripts/install.sh installed: the service, its unit and the
# binary. Recorded data (/var/lib/arpbox: the ring and the incident
# bundles), the config (/etc/arpbox) and the arpbox user are kept unless
# --purge is given.
#
# Usage: sudo scripts/uninstall.sh [--purge] [--root DIR]
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
purge=0 root=""
while [ $# -gt 0 ]; do
	case "$1" in
	--purge) purge=1; shift ;;
	--root) root="$(realpath "$2")"; shift 2 ;;
	-h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "uninstall.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	echo "uninstall.sh: run as root" >&2
	exit 1
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl disable --now arpbox.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/arpbox.service" "$root/usr/local/bin/arpbox"
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
echo "  removed the arpbox service, its unit and the binary"
if [ "$purge" = 1 ]; then
	rm -rf "$root/var/lib/arpbox" "$root/etc/arpbox"
	rootopt=()
	[ -n "$root" ] && rootopt=(--root "$root")
	userdel "${rootopt[@]}" arpbox 2>/dev/null || true
	groupdel "${rootopt[@]}" arpbox 2>/dev/null || true
	echo "  purged: recorded data (/var/lib/arpbox), /etc/arpbox and the arpbox user"
else
	echo "  kept: recorded data in /var/lib/arpbox, the config in /etc/arpbox, the arpbox user (--purge removes them)"
fi

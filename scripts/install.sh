#!/usr/bin/env bash
# Installs arpbox as a hardened systemd service, idempotently:
#   /usr/local/bin/arpbox                 the binary (replaced on every run)
#   user and group "arpbox"               a system user that owns the data
#   /etc/arpbox/arpbox.yaml               a commented config (never overwritten)
#   /etc/systemd/system/arpbox.service    the unit (scripts/systemd/arpbox.service)
# then enables and (re)starts the service where systemd runs.
#
# Usage: sudo scripts/install.sh [-b BINARY] [--root DIR] [--no-start]
#   -b BINARY   the arpbox binary to install (default: build ./cmd/arpbox)
#   --root DIR  install into DIR instead of / (packaging, tests); starts nothing
#   --no-start  install and enable, but do not (re)start the service
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

bin="" root="" start=1
while [ $# -gt 0 ]; do
	case "$1" in
	-b) bin="$(realpath "$2")"; shift 2 ;;
	--root) root="$(realpath "$2")"; start=0; shift 2 ;;
	--no-start) start=0; shift ;;
	-h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	echo "install.sh: run as root (it creates a system user and a systemd unit)" >&2
	exit 1
fi
# Paths given are resolved above, against the caller's directory; from
# here on, the repository's.
cd "$(dirname "$0")/.."
if [ -z "$bin" ]; then
	bin="$(mktemp -d)/arpbox"
	echo "building arpbox…"
	CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/arpbox
fi
"$bin" version >/dev/null || { echo "install.sh: $bin is not a working arpbox binary" >&2; exit 1; }

say() { echo "  $*"; }
install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system"
install -m 0755 "$bin" "$root/usr/local/bin/arpbox.new"
mv -f "$root/usr/local/bin/arpbox.new" "$root/usr/local/bin/arpbox"
say "binary: $root/usr/local/bin/arpbox ($("$bin" version))"

# With --root, the user and group go into DIR's /etc (useradd --root).
dbfile() { if [ -n "$root" ]; then cat "$root/etc/$1" 2>/dev/null; else getent "$1"; fi; }
gid() { dbfile group | awk -F: '$1 == "arpbox" { print $3 }'; }
rootopt=()
[ -n "$root" ] && rootopt=(--root "$root")
if [ -z "$(gid)" ]; then
	groupadd "${rootopt[@]}" --system arpbox
	say "group arpbox: created"
fi
if ! dbfile passwd | awk -F: '$1 == "arpbox" { found = 1 } END { exit !found }'; then
	useradd "${rootopt[@]}" --system --gid arpbox --no-create-home --home-dir /var/lib/arpbox \
		--shell /usr/sbin/nologin --comment "arpbox ARP flight recorder" arpbox
	say "user arpbox: created"
fi

# The config is root's to edit and the service's to read.
install -d -m 0750 -o 0 -g "$(gid)" "$root/etc/arpbox"
conf="$root/etc/arpbox/arpbox.yaml"
if [ -e "$conf" ]; then
	say "config: $conf kept as it is"
else
	{
		echo "# arpbox configuration: the service reads this file (arpbox run -config"
		echo "# /etc/arpbox/arpbox.yaml). Check an edit with:"
		echo "#   arpbox check-config -config /etc/arpbox/arpbox.yaml"
		echo "# Name the interface(s) to record under capture.interfaces and the hosts"
		echo "# to watch under triggers; README.md explains every key, and"
		echo "# configs/gateway.yaml is a fuller example for an HAProxy gateway."
		echo "#"
		"$bin" check-config -print-default
	} >"$conf.new"
	chown "0:$(gid)" "$conf.new"
	chmod 0640 "$conf.new"
	mv "$conf.new" "$conf"
	say "config: $conf written (the embedded default, commented)"
fi
"$bin" check-config -config "$conf" >/dev/null

unit="$root/etc/systemd/system/arpbox.service"
if cmp -s scripts/systemd/arpbox.service "$unit"; then
	say "unit: $unit unchanged"
else
	install -m 0644 scripts/systemd/arpbox.service "$unit"
	say "unit: $unit installed"
fi

if [ "$start" = 1 ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable arpbox.service >/dev/null 2>&1
	systemctl restart arpbox.service
	say "service: enabled and (re)started"
elif [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable arpbox.service >/dev/null 2>&1
	say "service: enabled, not started (--no-start)"
elif [ -z "$root" ]; then
	say "service: systemd is not running here; start arpbox with: /usr/local/bin/arpbox run -config $conf"
fi

cat <<'MSG'

Check it:
  systemctl status arpbox            # "recording arp on eth0 into /var/lib/arpbox/ring …"
  journalctl -u arpbox -f            # its log
  sudo arpbox status                 # interfaces, ring, triggers (control socket /run/arpbox/arpbox.sock)
  sudo arpbox snapshot -reason test  # write a bundle now; it prints the bundle's path
Members of the group "arpbox" may use the control socket without sudo.
MSG

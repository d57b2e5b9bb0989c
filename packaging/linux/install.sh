#!/bin/sh
# Install LineSight from this tarball into /opt/linesight (as root). Re-running it upgrades in place;
# the historian, the plant file and the settings live elsewhere and are kept.
#   sudo ./install.sh            # the bundle, the `linesight` command, the menu entry, the units
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-/opt/linesight}
if [ "$(id -u)" != 0 ]; then echo "run as root: sudo $0" >&2; exit 1; fi
if systemctl is-active --quiet linesight-agent.service 2>/dev/null; then
    echo "stopping linesight-agent for the upgrade"; systemctl stop linesight-agent.service; restart=1
else
    restart=0
fi
rm -rf "$prefix.new"
cp -a "$here/linesight" "$prefix.new"
mkdir -p "$prefix.new/docs" && cp -a "$here/docs/." "$prefix.new/docs/" 2>/dev/null || true
rm -rf "$prefix.old"
if [ -d "$prefix" ]; then mv "$prefix" "$prefix.old"; fi
mv "$prefix.new" "$prefix"
rm -rf "$prefix.old"
ln -sf "$prefix/linesight" /usr/local/bin/linesight
install -D -m 0644 "$here/share/applications/linesight.desktop" /usr/share/applications/linesight.desktop
install -D -m 0644 "$here/systemd/linesight-agent.service" /etc/systemd/system/linesight-agent.service
install -D -m 0644 "$here/systemd/linesight-kiosk.service" /usr/lib/systemd/user/linesight-kiosk.service
systemctl daemon-reload 2>/dev/null || true
if [ "$restart" = 1 ]; then systemctl start linesight-agent.service; fi
echo "LineSight $(cat "$here/VERSION") installed in $prefix; check it with: linesight --self-test"

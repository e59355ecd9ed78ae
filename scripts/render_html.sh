#!/usr/bin/env bash
# Renders an HTML report to a PNG screenshot with headless Chromium (Debian's `chromium` package):
#   scripts/render_html.sh REPORT.html OUT.png [WIDTHxHEIGHT]     (default 1280x2000)
# Installs chromium with apt-get when it is missing and we are root. Nothing is fetched over the
# network by the browser itself (the report is self-contained; background networking is off).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]" >&2
    exit 2
fi
html="$1"; png="$2"; size="${3:-1280x2000}"
[ -f "$html" ] || { echo "error: $html: no such file" >&2; exit 2; }
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "error: chromium is not installed (apt-get install chromium, as root)" >&2
        exit 2
    fi
fi
abs_html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
abs_png="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
tmp_png="$(dirname "$abs_png")/.$(basename "$abs_png").tmp.$$.png"
# Chromium prints harmless dbus/GPU noise on stderr; keep it unless it fails.
if ! log=$(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
        --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$tmp_png" "file://$abs_html" 2>&1) \
        || [ ! -s "$tmp_png" ]; then
    rm -f "$tmp_png"
    echo "error: chromium could not render $html:" >&2
    echo "$log" | tail -20 >&2
    exit 1
fi
mv -f "$tmp_png" "$abs_png"

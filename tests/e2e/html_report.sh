#!/usr/bin/env bash
# The HTML accuracy report, end to end: quantize the bundled model, `evaluate` it against the FP32
# model with --report .html/.json/.md (and quantize --max-drop with --report .html), check the HTML
# is self-contained and has one <svg> chart (with a <title>) per expected chart, then render it with
# headless Chromium (scripts/render_html.sh) and check the screenshot is not blank: decoded here
# (zlib, no PIL) it must have many distinct colours and the exact fill colours of the SQNR bars,
# the precision strip, the histogram bars and the clip-range shading.
set -euo pipefail
hq="$1"; src="$2"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
model="$src/models/ppocr_mobile_v2_cls.onnx"
pre=(--size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5)

"$hq" quantize "$model" -o "$t/q.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --reduce-range -q
"$hq" evaluate "$model" "$t/q.onnx" --data "$src/models/textlines/eval" \
    --labels "$src/models/textlines/eval_labels.txt" "${pre[@]}" --max-drop 5 \
    --report "$t/r.html" --report "$t/r.json" --report "$t/r.md" -q
# The accuracy-budget search writes the same HTML report, with its search-steps chart.
"$hq" quantize "$model" -o "$t/qb.onnx" --data "$src/models/textlines/calib" "${pre[@]}" --reduce-range --max-drop 1 \
    --eval-data "$src/models/textlines/eval" --labels "$src/models/textlines/eval_labels.txt" --report "$t/qb.html" -q
ls -a "$t" | grep -q '\.tmp' && { echo "temporary files left behind: $(ls -a "$t")"; exit 1; }

# Screenshot of the top of the page (header, tables, SQNR chart, precision strip) and of the whole page.
bash "$src/scripts/render_html.sh" "$t/r.html" "$t/top.png"
bash "$src/scripts/render_html.sh" "$t/r.html" "$t/full.png" 1280x6000
# What the browser parsed (not just what we wrote): the DOM after loading.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$t/profile" --dump-dom "file://$t/r.html" \
    > "$t/dom.html" 2>/dev/null
if [ -n "${HQ_KEEP_REPORT:-}" ]; then cp "$t/r.html" "$t/top.png" "$t/full.png" "$t/r.md" "$HQ_KEEP_REPORT/"; fi

/usr/bin/python3 - "$t" "$model" <<'PY'
import json, re, struct, sys, zlib
t, model = sys.argv[1], sys.argv[2]
html = open(f"{t}/r.html", encoding="utf-8").read()
dom = open(f"{t}/dom.html", encoding="utf-8").read()
rep = json.load(open(f"{t}/r.json"))
md = open(f"{t}/r.md", encoding="utf-8").read()

def fail(msg):
    print("FAIL:", msg); sys.exit(1)

# --- the reports agree and the HTML is what we expect
if rep["schema"] != 1 or rep["kind"] != "evaluate": fail("bad JSON header")
if not rep["layers"]: fail("evaluate compared no layers")
if rep["accuracy"] is None or rep["accuracy"]["reference"] is None: fail("no label accuracy in the JSON")
expected = 2 + len(rep["histograms"]) + (1 if rep["search_steps"] else 0)
svgs = re.findall(r"<svg\b[^>]*>(.{0,7})", html)
if len(svgs) != expected: fail(f"{len(svgs)} <svg> charts in the HTML, expected {expected}")
if any(s != "<title>" for s in svgs): fail("an <svg> chart without a <title>")
if len(re.findall(r"<svg\b", dom)) != expected: fail("the browser's DOM does not have every <svg>")
if re.search(r"<script|<link|<img|@import|url\(", html, re.I): fail("HTML is not self-contained")
if re.findall(r"https?://[^\s\"'<>)]*", html) != ["http://www.w3.org/2000/svg"] * expected:
    fail("external URL in the HTML")
if model not in html or rep["candidate"] not in html: fail("model paths missing from the HTML header")
for l in rep["layers"][:10]:
    esc = l["node"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if esc not in html: fail(f"layer {l['node']} missing from the HTML")
    if l["node"].replace("|", "\\|") not in md: fail(f"layer {l['node']} missing from the Markdown")
if "within budget" not in html or "within budget" not in md: fail("no verdict (--max-drop 5 should hold)")
qb = open(f"{t}/qb.html", encoding="utf-8").read()
n_qb = len(re.findall(r"<svg\b", qb))
if "<title>Accuracy-budget search" not in qb: fail("quantize --max-drop: no search-steps chart in the HTML")
if n_qb != 3 + qb.count("<figure>"): fail(f"quantize --max-drop: {n_qb} charts, expected {3 + qb.count('<figure>')}")
acc = f"{rep['accuracy']['reference']:.2f}"
if acc not in html or acc not in md: fail(f"reference accuracy {acc} not shown")

# --- decode the PNGs (8-bit RGB/RGBA, not interlaced) by hand
def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n": fail(f"{path} is not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR": hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT": idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace: fail(f"unexpected PNG format {hdr}")
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    colours = {}
    for r in rows:
        for x in range(0, stride, bpp):
            px = r[x:x + 3]
            colours[px] = colours.get(px, 0) + 1
    return w, h, colours

def rgb(hexs): return bytes.fromhex(hexs)
for name, need in (("top", {"SQNR bars": "2f5f98", "added-SQNR bars": "9cc3e6", "int8 strip": "4e9a54"}),
                   ("full", {"SQNR bars": "2f5f98", "int8 strip": "4e9a54", "histogram bars": "4e79a7",
                             "clip range": "fff1c9", "verdict box": "e7f5ea"})):
    w, h, colours = decode(f"{t}/{name}.png")
    total = w * h
    white = colours.get(rgb("ffffff"), 0)
    if len(colours) < 50: fail(f"{name}.png has only {len(colours)} colours: blank or broken render")
    if total - white < total * 0.03: fail(f"{name}.png is almost blank ({total - white} non-white pixels)")
    for what, hexs in need.items():
        if colours.get(rgb(hexs), 0) < 200: fail(f"{name}.png: no {what} (#{hexs}) on the screenshot")
    print(f"{name}.png {w}x{h}: {len(colours)} colours, {100 * (total - white) / total:.1f}% non-white")
print(f"ok: {expected} charts, {len(rep['layers'])} layers, {len(rep['histograms'])} histograms")
PY

"""report.html: a sweep against llmload sim writes a self-contained page (nothing loaded from the
network), `llmload report --format html` re-renders it byte for byte, and headless Chromium draws
every chart without a JavaScript error and paints a page that is not blank. With scripts off, the
table is still there. Chromium runs offline (fresh profile, background networking off) and is
killed by its process group if it outlives its timeout."""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib

from lltest import MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-html-")
out = os.path.join(tmp, "sweep")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

with Sim("--max-num-seqs", 8, "--ttft-ms", 20, "--itl-ms", 5, "--seed", 5, "--error-rate", 0.05) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "sweep", "--rate", 4, "--max-seconds", 2,
             "--max-concurrency", 64, "--data", "prompt_tokens=32,output_tokens=16", "--out", out,
             "--no-progress"], timeout=180)
ok(r.returncode == 0, "sweep exits 0", r.stderr[-800:])
ok("report.html" in r.stderr, "'reports written to' names report.html", r.stderr[-300:])
html_path = os.path.join(out, "report.html")
json_path = os.path.join(out, "report.json")
html = open(html_path, encoding="utf-8").read() if os.path.exists(html_path) else ""
rep = json.load(open(json_path)) if os.path.exists(json_path) else {"benchmarks": []}
benches = rep["benchmarks"]
ok(len(benches) == 4, "4 sweep points", [b.get("name") for b in benches])
ok(html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>"), "report.html is a whole page",
   html[:60])

# --- Self-contained: nothing in the page can make a request.
net_attr = re.findall(r"""\b(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", html, re.I)
ok(net_attr == [], "no src=/href= pointing at a network URL", net_attr[:5])
ok(re.findall(r"<script\b[^>]*\bsrc\s*=", html, re.I) == [], "every <script> is inline (no src=)")
ok(re.findall(r"<link\b", html, re.I) == [], "no <link> (stylesheets and fonts are inline)")
bad_api = [w for w in ("fetch(", "XMLHttpRequest", "import(", "@import", "WebSocket", "EventSource",
                       "sendBeacon", "url(http", "url(//") if w in html]
ok(bad_api == [], "no fetch/XMLHttpRequest/import/WebSocket/url() loads in the page", bad_api)
ok(html.count("var uPlot=") == 1 and ".uplot" in html, "uPlot's script and style are inlined")

# --- Server-side table: readable without JavaScript.
rows = re.findall(r'<tr><td class="name">([^<]*)</td>', html)
ok(rows == [b["name"] for b in benches], "one table row per benchmark, in order", (rows, [b["name"] for b in benches]))
for b in benches:
    m = b["metrics"]
    row = re.search(r'<tr><td class="name">' + re.escape(b["name"]) + r"</td>(.*?)</tr>", html)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1)) if row else []
    want = "%.1f" % m["ttft_ms"]["p50"] if 10 <= m["ttft_ms"]["p50"] < 1000 else None
    ok(want is None or want in cells, f"{b['name']}: TTFT p50 {want} is in its row", cells)
    kinds = b["requests"]["errors_by_kind"]
    ok(all(k in row.group(1) for k in kinds) if row else False, f"{b['name']}: errors by kind shown", kinds)
ok(any(b["requests"]["errors_by_kind"] for b in benches), "the run had errors to show (sim --error-rate)")

# --- The embedded document and histogram edges.
m = re.search(r'<script type="application/json" id="llmload-report">(.*?)</script>', html, re.S)
ok(m is not None and json.loads(m.group(1)) == rep, "embedded JSON equals report.json")
m = re.search(r'<script type="application/json" id="llmload-buckets">(.*?)</script>', html, re.S)
hb = json.loads(m.group(1)) if m else []
ok(len(hb) == len(benches), "bucket table per benchmark", len(hb))
for b, h in zip(benches, hb):
    for key in ("itl_ms", "ttft_ms"):
        bk = h.get(key) or []
        edges_ok = all(lo < hi for lo, hi, _ in bk) and all(a[1] <= c[0] for a, c in zip(bk, bk[1:]))
        total = sum(c for _, _, c in bk)
        ok(edges_ok and total == b["histograms"][key]["count"] and total > 0,
           f"{b['name']}: {key} buckets ascending, counts add up", (total, b["histograms"][key]["count"]))
        if bk:
            # Every value the histogram holds lies in a bucket: the exact min and max included.
            lo_ms, hi_ms = b["histograms"][key]["min"] / 1e6, b["histograms"][key]["max"] / 1e6
            ok(bk[0][0] <= lo_ms < bk[0][1] and bk[-1][0] <= hi_ms < bk[-1][1],
               f"{b['name']}: {key} first/last bucket hold min/max", (bk[0], lo_ms, bk[-1], hi_ms))
    ok(b["histograms"]["ttft_ms"]["count"] == b["metrics"]["ttft_ms"]["count"],
       f"{b['name']}: TTFT histogram counts the same requests as ttft_ms",
       (b["histograms"]["ttft_ms"]["count"], b["metrics"]["ttft_ms"]["count"]))

# --- Deterministic re-render (no rendering time, host or locale in the page).
rr = run(["report", json_path, "--format", "html"])
ok(rr.returncode == 0 and rr.stdout == html, "llmload report --format html == report.html", rr.stderr)
o2 = os.path.join(tmp, "again.html")
rr = run(["report", json_path, "--format", "html", "-o", o2])
ok(rr.returncode == 0 and open(o2, "rb").read() == open(html_path, "rb").read(), "report --format html -o FILE")

# A hostile benchmark name cannot end the JSON block or inject markup.
evil = json.loads(json.dumps(rep))
if evil["benchmarks"]:
    evil["benchmarks"][0]["name"] = "</script><script>document.title='pwned'</script><!--"
evil_json = os.path.join(tmp, "evil.json")
json.dump(evil, open(evil_json, "w"))
evil_html = os.path.join(tmp, "evil.html")
rr = run(["report", evil_json, "--format", "html", "-o", evil_html])
eh = open(evil_html, encoding="utf-8").read() if rr.returncode == 0 else ""
ok(eh.count("</script>") == html.count("</script>") and "<!--" not in eh and
   "&lt;/script&gt;&lt;script&gt;" in eh, "a name holding </script> and <!-- is escaped in table and JSON",
   rr.stderr)


# --- Headless Chromium.
def chromium(*args, timeout=90):
    """Runs Chromium in its own process group; kills the group by PID on timeout. Returns
    (exit code, stdout text)."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    try:
        so, _ = p.communicate(timeout=timeout * MULT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        so, _ = p.communicate()
        return -1, so
    return p.returncode, so


def body_attrs(dom):
    m = re.search(r"<body([^>]*)>", dom)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}


def png_size(path):
    data = open(path, "rb").read(24)
    return struct.unpack(">II", data[16:24]) if data[:8] == b"\x89PNG\r\n\x1a\n" else (0, 0)


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) with zlib; returns (w, h, rows of bytes, bpp)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows, bpp


def pixel_counts(path):
    """(non-white pixels, strongly coloured pixels): text and rules are grey; chart lines are colour."""
    w, h, rows, bpp = png_pixels(path)
    nonwhite = coloured = 0
    for line in rows:
        for i in range(0, w * bpp, bpp):
            r_, g, b = line[i], line[i + 1], line[i + 2]
            if r_ < 245 or g < 245 or b < 245:
                nonwhite += 1
            if max(r_, g, b) - min(r_, g, b) > 80:
                coloured += 1
    return w * h, nonwhite, coloured


if not CHROMIUM:
    print("# skip - chromium not installed (scripts/install-deps.sh installs it): page not rendered")
else:
    url = "file://" + os.path.abspath(html_path)
    expected = 4 + 3 * len(benches)  # sweep: TTFT, ITL, E2E, tok/s; each benchmark: TTFT, ITL, series
    rc, dom = chromium("--virtual-time-budget=5000", "--window-size=1280,900", "--dump-dom", url)
    attrs = body_attrs(dom)
    ok(rc == 0 and attrs.get("data-charts-drawn") == str(expected),
       f"Chromium drew {expected} charts", (rc, attrs))
    ok(attrs.get("data-charts-expected") == str(expected), "one chart slot per expected chart", attrs)
    ok(attrs.get("data-js-errors", "") == "", "no JavaScript errors", attrs.get("data-js-errors"))
    ok(dom.count('class="uplot') == expected, "one uPlot chart per slot in the DOM", dom.count('class="uplot'))

    rc, dom = chromium("--virtual-time-budget=5000", "--window-size=1280,900", "--dump-dom",
                       "file://" + os.path.abspath(evil_html))
    attrs = body_attrs(dom)
    ok(rc == 0 and attrs.get("data-charts-drawn") == str(expected) and "data-js-errors" not in attrs
       and "pwned" not in dom.split("<body", 1)[0], "hostile name: charts still drawn, no script injected", attrs)

    # Scripts off, as a reader without JavaScript sees it. (Headless Chromium's --dump-dom and
    # --screenshot need scripting, so the executable <script> elements are removed instead.)
    nojs_path = os.path.join(tmp, "nojs.html")
    with open(nojs_path, "w", encoding="utf-8") as f:
        f.write(re.sub(r"<script>.*?</script>", "", html, flags=re.S))
    nojs_url = "file://" + os.path.abspath(nojs_path)
    rc, dom = chromium("--window-size=1280,900", "--dump-dom", nojs_url)
    ok(rc == 0 and "<table" in dom and "data-charts-drawn" not in body_attrs(dom) and
       all(f'<td class="name">{b["name"]}</td>' in dom for b in benches),
       "scripts off: no charts, but the table is there", (rc, body_attrs(dom)))

    shot, shot_nojs = os.path.join(tmp, "report.png"), os.path.join(tmp, "nojs.png")
    chromium("--virtual-time-budget=5000", "--window-size=1280,1100", f"--screenshot={shot}", url)
    chromium("--window-size=1280,1100", f"--screenshot={shot_nojs}", nojs_url)
    if ok(os.path.exists(shot) and os.path.exists(shot_nojs), "screenshots written"):
        total, nonwhite, coloured = pixel_counts(shot)
        _, nonwhite0, coloured0 = pixel_counts(shot_nojs)
        ok(nonwhite > 0.03 * total, "screenshot is not blank", (nonwhite, total))
        # The charts add thousands of coloured pixels over the same page without scripts (whose own
        # colour, error badges and links, varies with the run's injected errors).
        ok(coloured > 3000 and coloured > coloured0 + 3000, "charts paint coloured lines (vs scripts off)",
           (coloured, coloured0))

    # The screenshot script (full page: its height comes from the page itself).
    full = os.path.join(tmp, "full.png")
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "screenshot-report.sh")
    p = subprocess.run(["bash", script, html_path, full, "1000"], capture_output=True, text=True,
                       timeout=200 * MULT)
    if ok(p.returncode == 0 and os.path.exists(full), "scripts/screenshot-report.sh writes a PNG", p.stderr[-300:]):
        w, h = png_size(full)
        ok(w == 1000 and h > 1100, "full-page screenshot is taller than one window", (w, h))
# --- --server-metrics: the verdict at the top and per benchmark, and the server's series as charts.
ok('data-chart="server-' not in html and 'id="server-verdict"' not in html and 'class="verdict"' not in html,
   "without --server-metrics: no server chart slot and no verdict")
sout = os.path.join(tmp, "server")
with Sim("--max-num-seqs", 2, "--ttft-ms", 20, "--itl-ms", 10, "--seed", 8) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", "1,6", "--max-seconds", 2,
             "--data", "prompt_tokens=32,output_tokens=40", "--out", sout, "--no-progress", "--quiet",
             "--server-metrics", "--server-metrics-interval", "0.25"], timeout=120)
ok(r.returncode == 0, "a run with --server-metrics exits 0", r.stderr[-500:])
shtml_path = os.path.join(sout, "report.html")
shtml = open(shtml_path, encoding="utf-8").read() if os.path.exists(shtml_path) else ""
srep = json.load(open(os.path.join(sout, "report.json"))) if r.returncode == 0 else {"benchmarks": []}
sb = srep["benchmarks"]
top = re.search(r'<div class="banner" id="server-verdict">(.*?)</div>', shtml, re.S)
top_verdicts = re.findall(r"<li><b>([^<]*)</b>: <code>([a-z_]+)</code>", top.group(1)) if top else []
ok(top is not None and shtml.index('id="server-verdict"') < shtml.index("<main>") and
   top_verdicts == [(b["name"], b["server"]["diagnosis"]["verdict"]) for b in sb],
   "the verdict of every benchmark at the top of the page, as report.json says", top_verdicts)
per = re.findall(r'<p class="verdict">Server: <code>([a-z_]+)</code>', shtml)
ok(len(per) == len(sb) == 2 and per == [b["server"]["diagnosis"]["verdict"] for b in sb],
   "each benchmark's section says its verdict, as report.json says", per)
slots = re.findall(r'data-chart="(server-[a-z]+)" data-bench="(\d+)"', shtml)
ok(slots == [(k, str(i)) for i in range(len(sb)) for k in ("server-queue", "server-usage", "server-tokens")],
   "per benchmark: the server's queue, KV cache and token charts (what the simulator exposes)", slots)
if CHROMIUM:
    sexpected = 3 * len(sb) + 3 * len(sb) + (4 if len(sb) > 1 else 0)
    rc, dom = chromium("--virtual-time-budget=5000", "--window-size=1280,900", "--dump-dom",
                       "file://" + os.path.abspath(shtml_path))
    attrs = body_attrs(dom)
    ok(rc == 0 and attrs.get("data-charts-drawn") == attrs.get("data-charts-expected") == str(sexpected) and
       "data-js-errors" not in attrs, f"server run: Chromium drew all {sexpected} charts, no JavaScript error", attrs)
    # A benchmark with one scrape and no per-second point (shorter than both): charts, no error.
    if sb:
        one = json.loads(json.dumps(srep))
        one["benchmarks"] = one["benchmarks"][:1]
        one["benchmarks"][0]["timeseries"] = []
        one["benchmarks"][0]["server"]["series"] = {k: v[:1] for k, v in sb[0]["server"]["series"].items()}
        one_json, one_html = os.path.join(tmp, "one.json"), os.path.join(tmp, "one.html")
        json.dump(one, open(one_json, "w"))
        rr = run(["report", one_json, "--format", "html", "-o", one_html])
        rc, dom = chromium("--virtual-time-budget=5000", "--window-size=1280,900", "--dump-dom",
                           "file://" + os.path.abspath(one_html))
        attrs = body_attrs(dom)
        ok(rr.returncode == 0 and rc == 0 and attrs.get("data-charts-drawn") == attrs.get("data-charts-expected") == "6"
           and "data-js-errors" not in attrs, "one scrape per series, no per-second point: 6 charts, no error", attrs)
    # The server's charts paint: the page against the same page with their slots removed.
    bare_path = os.path.join(tmp, "server-bare.html")
    with open(bare_path, "w", encoding="utf-8") as f:
        f.write(re.sub(r'<div class="chart" data-chart="server-[a-z]+" data-bench="\d+"></div>', "", shtml))
    shot_s, shot_bare = os.path.join(tmp, "server.png"), os.path.join(tmp, "server-bare.png")
    chromium("--virtual-time-budget=5000", "--window-size=1280,2600", f"--screenshot={shot_s}",
             "file://" + os.path.abspath(shtml_path))
    chromium("--virtual-time-budget=5000", "--window-size=1280,2600", f"--screenshot={shot_bare}",
             "file://" + os.path.abspath(bare_path))
    if ok(os.path.exists(shot_s) and os.path.exists(shot_bare), "server run: screenshots written"):
        _, _, coloured = pixel_counts(shot_s)
        _, _, coloured0 = pixel_counts(shot_bare)
        ok(coloured > coloured0 + 1500, "the server charts paint coloured lines (vs without their slots)",
           (coloured, coloured0))
done()

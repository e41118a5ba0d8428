"""Multi-turn sessions (docs/workloads.md): turn k carries the history of turns 1..k-1, including the
text the simulator streamed; with the simulator's prefix cache on, TTFT falls on later turns; think
times hold; --users N keeps N sessions; open-loop arrivals begin sessions; dataset records with several
user turns become sessions; report.json by_turn, requests.csv session/turn, on both transports."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

from lltest import ASAN_SLACK, MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-sessions-")
# The simulator's text for token i is " " + VOCAB[i % 16] (src/sim/sim_api.c).
VOCAB = ["the", "model", "streams", "tokens", "at", "a", "steady", "pace", "while", "queue", "and", "cache",
         "decide", "when", "it", "starts"]


def sim_text(n):
    return "".join(" " + VOCAB[i % len(VOCAB)] for i in range(n))


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def go(sim, name, *args, timeout=60):
    out = os.path.join(tmp, name)
    r = run(["run", "--target", sim.url, "--no-progress", "--no-calibrate", "--out", out, *args], timeout=timeout)
    return r, out


def report(out):
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)


THINK = 0.3
OUT_TOKENS = 8

# 1. Three-turn sessions, two users, both transports, prefix cache on: history and reply text in the
#    bodies, TTFT falls on turns 2 and 3 (their new part is 20 words; turn 1 is 400), think time held.
for client in ("builtin", "curl"):
    log = os.path.join(tmp, f"requests-{client}.jsonl")
    with Sim("--ttft-ms", 2, "--itl-ms", 2, "--prefill-ms-per-1k", 400, "--prefix-cache-tokens", 100000,
             "--request-log", log) as sim:
        r, out = go(sim, f"three-{client}", "--http-client", client, "--users", 2, "--max-requests", 6,
                    "--max-seconds", 0, "--data",
                    f"prompt_tokens=400,turn_prompt_tokens=20,output_tokens={OUT_TOKENS},turns=3,think_time={THINK}")
    if not ok(r.returncode == 0, f"{client}: 2 users x 3 turns run", r.stderr[-400:]):
        continue
    lines = read_log(log)
    ok(sorted(l["messages"] for l in lines) == [1, 1, 3, 3, 5, 5],
       f"{client}: the simulator saw 1, 3 and 5 messages for turns 1, 2, 3 of two sessions",
       [l["messages"] for l in lines])
    by_first = {}
    for l in lines:
        msgs = l["body"]["messages"]
        by_first.setdefault(msgs[0]["content"], []).append(msgs)
    ok(len(by_first) == 2, f"{client}: two sessions, each with its own first prompt", len(by_first))
    history_ok, replies_ok = True, True
    for convs in by_first.values():
        convs.sort(key=len)
        for k, msgs in enumerate(convs):
            roles = [m["role"] for m in msgs]
            if roles != ["user", "assistant"] * k + ["user"]:
                history_ok = False
            if k and msgs[:len(convs[k - 1])] != convs[k - 1][:len(convs[k - 1])]:
                history_ok = False  # the earlier turn's messages, unchanged, open the later one
            for m in msgs:
                if m["role"] == "assistant" and m["content"] != sim_text(OUT_TOKENS):
                    replies_ok = False
    ok(history_ok, f"{client}: turns 2 and 3 carry turns 1..k-1, user/assistant alternating")
    ok(replies_ok, f"{client}: the assistant messages are the text the simulator streamed",
       [m["content"] for c in by_first.values() for msgs in c for m in msgs if m["role"] == "assistant"][:2])
    cached = sorted(l["cached_tokens"] for l in lines if l["messages"] > 1)
    ok(all(c > 300 for c in cached), f"{client}: later turns hit the simulator's prefix cache", cached)

    doc = report(out)
    b = doc["benchmarks"][0]
    bt = {g["turn"]: g for g in b.get("by_turn", [])}
    ok(sorted(bt) == [1, 2, 3] and all(g["completed"] == 2 for g in bt.values()),
       f"{client}: report.json by_turn has turns 1-3, two requests each", sorted(bt))
    if sorted(bt) == [1, 2, 3]:
        t1, t2, t3 = (bt[k]["ttft_ms"]["p50"] for k in (1, 2, 3))
        # Turn 1: 400 tokens at 400 ms/1k = 160 ms of prefill; turns 2 and 3 prefill ~30 new tokens.
        ok(t2 < 0.5 * t1 and t3 < 0.5 * t1, f"{client}: TTFT falls on turns 2 and 3 with the prefix cache",
           (t1, t2, t3))
    ok(b.get("sessions", {}).get("started") == 2 and b["sessions"].get("completed") == 2,
       f"{client}: report.json counts 2 sessions begun and completed", b.get("sessions"))
    ok("ttft p50 by turn" in r.stdout + r.stderr, f"{client}: the console prints TTFT p50 by turn")

    rows = read_csv(os.path.join(out, "requests.csv"))
    pairs = sorted((int(x["session"]), int(x["turn"])) for x in rows)
    ok(pairs == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)], f"{client}: requests.csv session and turn columns",
       pairs)
    ok(all(x["model"] == "llmload-sim" for x in rows), f"{client}: requests.csv model column")
    gaps = []
    for s in (1, 2):
        turns = sorted((x for x in rows if x["session"] == str(s)), key=lambda x: int(x["turn"]))
        for a, c in zip(turns, turns[1:]):
            end = float(a["sent_s"]) + float(a["e2e_ms"]) / 1000
            gaps.append(float(c["sent_s"]) - end)
    ok(len(gaps) == 4 and all(THINK - 0.005 <= g <= THINK + 0.25 * ASAN_SLACK for g in gaps),
       f"{client}: the next turn is sent a think time ({THINK}s) after the previous one ended", gaps)

# report.html: the by-turn table, and the TTFT-by-turn chart drawn without script errors.
with open(os.path.join(tmp, "three-builtin", "report.html")) as f:
    page = f.read()
ok('data-breakdown="by_turn"' in page and 'data-chart="ttft-turn"' in page,
   "report.html has the by-turn table and the TTFT by turn chart slot")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    print("# skip - chromium not installed: report.html not rendered")
else:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tempfile.mkdtemp(dir=tmp)}",
           "--virtual-time-budget=5000", "--window-size=1280,900", "--dump-dom",
           "file://" + os.path.join(tmp, "three-builtin", "report.html")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        dom, _ = p.communicate(timeout=90 * MULT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        dom, _ = p.communicate()
    m = re.search(r"<body([^>]*)>", dom or "")
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}
    ok(attrs.get("data-charts-drawn", "0") != "0" and attrs.get("data-charts-drawn") == attrs.get("data-charts-expected")
       and "data-js-errors" not in attrs,
       "report.html draws every chart, TTFT by turn included, without script errors", attrs)

# 2. The same without the prefix cache: later turns carry the whole history and their TTFT grows.
with Sim("--ttft-ms", 2, "--itl-ms", 2, "--prefill-ms-per-1k", 400) as sim:
    r, out = go(sim, "nocache", "--users", 1, "--max-requests", 3, "--max-seconds", 0, "--data",
                "prompt_tokens=400,turn_prompt_tokens=20,output_tokens=8,turns=3,think_time=0")
if ok(r.returncode == 0, "no prefix cache run", r.stderr[-300:]):
    bt = {g["turn"]: g["ttft_ms"]["p50"] for g in report(out)["benchmarks"][0].get("by_turn", [])}
    ok(len(bt) == 3 and bt[3] > bt[1], "without the cache, turn 3's TTFT is above turn 1's (longer prompt)", bt)

# 3. --users N keeps N sessions running; each user starts its next session when one ends.
with Sim("--ttft-ms", 5, "--itl-ms", 2) as sim:
    r, out = go(sim, "users", "--users", 3, "--max-seconds", 2, "--data",
                "prompt_tokens=20,output_tokens=4,turns=3,think_time=0.1,think_time_stdev=0.05")
if ok(r.returncode == 0, "--users 3 run", r.stderr[-300:]):
    rows = [x for x in read_csv(os.path.join(out, "requests.csv")) if x["status"] == "ok"]
    spans = {}
    for x in rows:
        start = float(x["scheduled_s"])
        end = float(x["sent_s"]) + float(x["e2e_ms"]) / 1000
        lo, hi = spans.get(x["session"], (start, end))
        spans[x["session"]] = (min(lo, start), max(hi, end))
    events = sorted([(lo, 1) for lo, _ in spans.values()] + [(hi, -1) for _, hi in spans.values()],
                    key=lambda e: (e[0], e[1]))
    live = peak = 0
    for _, d in events:
        live += d
        peak = max(peak, live)
    ok(len(spans) > 3 and peak == 3, "3 users: at most and at least 3 sessions at once, sessions one after another",
       (len(spans), peak))
    ok(report(out)["benchmarks"][0]["name"] == "concurrent@3", "--users 3 is the closed loop concurrent@3")

# --workers 2: the loops number their sessions apart (one session, one number, turns 1, 2, 3 in order).
with Sim("--ttft-ms", 5, "--itl-ms", 2) as sim:
    r, out = go(sim, "workers", "--users", 4, "--workers", 2, "--max-requests", 24, "--max-seconds", 0, "--data",
                "prompt_tokens=20,output_tokens=4,turns=3,think_time=0.02")
if ok(r.returncode == 0, "--users 4 --workers 2 run", r.stderr[-300:]):
    rows = read_csv(os.path.join(out, "requests.csv"))
    per = {}
    for x in rows:
        per.setdefault(x["session"], []).append(int(x["turn"]))
    ok(len(rows) == 24 and all(sorted(t) == list(range(1, len(t) + 1)) for t in per.values()) and len(per) >= 8,
       "two loops: every session number has one run of turns 1, 2, 3", per)

# A --model mix: each session keeps the model drawn at its first turn; report.json by_model splits them.
with Sim("--model", "fast:5:1", "--model", "slow:20:2") as sim:
    r, out = go(sim, "mix", "--model", "fast=0.5,slow=0.5", "--users", 2, "--max-requests", 18, "--max-seconds", 0,
                "--data", "prompt_tokens=20,output_tokens=4,turns=3,think_time=0")
if ok(r.returncode == 0, "sessions with a two-model mix", r.stderr[-300:]):
    rows = read_csv(os.path.join(out, "requests.csv"))
    models = {}
    for x in rows:
        models.setdefault(x["session"], set()).add(x["model"])
    ok(all(len(m) == 1 for m in models.values()) and set().union(*models.values()) == {"fast", "slow"},
       "every turn of a session asks the session's model; both models have sessions", models)
    bm = {g["model"]: g for g in report(out)["benchmarks"][0].get("by_model", [])}
    ok(set(bm) == {"fast", "slow"} and bm["slow"]["ttft_ms"]["p50"] > bm["fast"]["ttft_ms"]["p50"],
       "by_model: per-model TTFT (slow above fast)", {k: v["ttft_ms"]["p50"] for k, v in bm.items()})

# 4. Open loop: each arrival begins a session; its second turn follows its think time.
with Sim("--ttft-ms", 5, "--itl-ms", 2) as sim:
    r, out = go(sim, "open", "--schedule", "constant", "--rate", 4, "--max-seconds", 1.5, "--data",
                "prompt_tokens=20,output_tokens=4,turns=2,think_time=0.2")
if ok(r.returncode == 0, "constant@4 sessions run", r.stderr[-300:]):
    rows = read_csv(os.path.join(out, "requests.csv"))
    firsts = sorted(float(x["scheduled_s"]) for x in rows if x["turn"] == "1")
    steps = [b - a for a, b in zip(firsts, firsts[1:])]
    ok(len(firsts) >= 5 and all(abs(s - 0.25) < 0.002 for s in steps),
       "sessions begin at the arrivals, 0.25 s apart", steps)
    ok(any(x["turn"] == "2" for x in rows), "their second turns follow")

# 5. The completions API: one prompt string, the history concatenated with newlines.
log = os.path.join(tmp, "completions.jsonl")
with Sim("--ttft-ms", 2, "--itl-ms", 1, "--request-log", log) as sim:
    r, out = go(sim, "completions", "--api", "completions", "--users", 1, "--max-requests", 2, "--max-seconds", 0,
                "--data", "prompt_tokens=5,output_tokens=3,turns=2,think_time=0")
if ok(r.returncode == 0, "completions API session run", r.stderr[-300:]):
    lines = read_log(log)
    p1, p2 = lines[0]["body"]["prompt"], lines[1]["body"]["prompt"]
    ok(p2.startswith(p1 + "\n" + sim_text(3) + "\n") and len(p2) > len(p1 + sim_text(3)) + 3,
       "turn 2's prompt is turn 1's, the streamed reply and the new prompt", (p1, p2))

# 6. Sessions from a file: every user turn of a record is a turn; the file's replies are not sent,
#    their lengths are the output lengths asked.
conv = os.path.join(tmp, "conv.jsonl")
with open(conv, "w") as f:
    f.write(json.dumps({"messages": [{"role": "user", "content": "first question"},
                                     {"role": "assistant", "content": "FILE REPLY ONE"},
                                     {"role": "user", "content": "second question"},
                                     {"role": "assistant", "content": "r r r r r"},
                                     {"role": "user", "content": "third question"}]}) + "\n")
log = os.path.join(tmp, "dataset.jsonl")
with Sim("--ttft-ms", 2, "--itl-ms", 1, "--request-log", log) as sim:
    r, out = go(sim, "dataset", "--users", 1, "--max-requests", 3, "--max-seconds", 0, "--data", conv)
if ok(r.returncode == 0, "dataset session run", r.stderr[-300:]):
    bodies = [l["body"] for l in read_log(log)]
    msgs = bodies[-1]["messages"] if bodies else []
    ok([m["content"] for m in msgs if m["role"] == "user"] == ["first question", "second question", "third question"],
       "the record's three user turns are the session's turns", msgs)
    ok(all("FILE REPLY" not in m["content"] for m in msgs if m["role"] == "assistant")
       and [m["content"] for m in msgs if m["role"] == "assistant"] == [sim_text(3), sim_text(5)],
       "the server's replies are sent, not the file's; their word counts are the output lengths", msgs)
    ok([b["max_tokens"] for b in bodies][:2] == [3, 5], "max_tokens from the file's reply lengths",
       [b["max_tokens"] for b in bodies])

# 7. profiles/agentic.json, shortened, against the simulator: sessions of 6 turns by 8 users.
repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with Sim("--ttft-ms", 5, "--itl-ms", 1, "--prefix-cache-tokens", 200000, "--prefill-ms-per-1k", 50) as sim:
    r, out = go(sim, "agentic", os.path.join(repo, "profiles", "agentic.json"), "--max-seconds", 3, "--warmup", 0,
                "--data", "think_time=0.05,think_time_stdev=0.02")
if ok(r.returncode == 0, "profiles/agentic.json runs (shortened)", r.stderr[-300:]):
    b = report(out)["benchmarks"][0]
    turns = [g["turn"] for g in b.get("by_turn", [])]
    ok(b["name"] == "concurrent@8" and turns[:3] == [1, 2, 3], "agentic: 8 users, by_turn from turn 1", (b["name"], turns))

# 8. Bad input: one line, exit 2.
r = run(["run", "--target", "http://127.0.0.1:1", "--users", 2, "--schedule", "poisson", "--rate", 3])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "--users" in r.stderr, "--users with poisson: exit 2, one line",
   r.stderr)
r = run(["run", "--target", "http://127.0.0.1:1", "--data", "turns=0"])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "turns" in r.stderr, "turns=0: exit 2, one line", r.stderr)
r = run(["run", "--target", "http://127.0.0.1:1", "--data", "think_time=-1"])
ok(r.returncode == 2 and r.stderr.count("\n") == 1, "a negative think_time: exit 2, one line", r.stderr)
done()

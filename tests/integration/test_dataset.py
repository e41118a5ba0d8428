"""--data FILE: prompts and output lengths from .jsonl/.json/.csv/.txt datasets reach the server as
written (the simulator counts their sub-words), and bad files get one line and the right exit code."""
import json
import os
import tempfile

from lltest import Sim, done, ok, run

try:
    import pandas
except ImportError:
    pandas = None

tmp = tempfile.mkdtemp(prefix="llmload-test-dataset-")
records = [
    {"prompt": "one two three", "output_tokens": 4},
    {"prompt": "alpha beta gamma delta epsilon", "output_tokens": 6},
    {"conversations": [{"from": "human", "value": "quote \"this\" and, comma"},
                       {"from": "gpt", "value": "w1 w2 w3 w4 w5 w6 w7"}]},
    {"messages": [{"role": "user", "content": "multi\nline prompt"}], "max_tokens": 2},
]
jsonl = os.path.join(tmp, "p.jsonl")
with open(jsonl, "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
csvf = os.path.join(tmp, "p.csv")
with open(csvf, "w") as f:
    f.write('prompt,output_tokens\n"a b, c",3\nsingle,5\n')


def go(sim, name, data, *extra):
    out = os.path.join(tmp, name)
    r = run(["run", "--target", sim.url, "--schedule", "synchronous", "--max-requests", 8, "--max-seconds", 0,
             "--data", data, "--out", out, "--no-progress", "--quiet", *extra])
    return r, out


with Sim("--ttft-ms", 2, "--itl-ms", 1) as sim:
    r, out = go(sim, "jsonl", jsonl)
    if ok(r.returncode == 0, "jsonl dataset run", r.stderr[-300:]) and pandas is not None:
        df = pandas.read_csv(os.path.join(out, "requests.csv"))
        pairs = set(zip(df.prompt_tokens, df.output_tokens))
        # The simulator counts sub-words (docs/simulator.md): "one two three" 4, "alpha beta gamma delta
        # epsilon" 9, 'quote "this" and, comma' 9, "multi line prompt" 5; outputs honour max_tokens +
        # ignore_eos (the ShareGPT answer has 7 words).
        expected = {(4, 4), (9, 6), (9, 7), (5, 2)}
        ok(pairs == expected, "each record's prompt and output length reach the server", sorted(pairs))
        ok(len(df) == 8 and (df.status == "ok").all(), "8 requests cycle through the 4 records", len(df))
    r, out = go(sim, "csv", csvf)
    if ok(r.returncode == 0, "csv dataset run", r.stderr[-300:]) and pandas is not None:
        df = pandas.read_csv(os.path.join(out, "requests.csv"))
        # "a b, c": a, b, ",", c; "single": 6 bytes, 2 pieces.
        ok(set(zip(df.prompt_tokens, df.output_tokens)) == {(4, 3), (2, 5)}, "csv prompts and output_tokens",
           sorted(set(zip(df.prompt_tokens, df.output_tokens))))
    r1, o1 = go(sim, "seed1", jsonl, "--seed", 9)
    r2, o2 = go(sim, "seed2", jsonl, "--seed", 9)
    if pandas is not None and r1.returncode == 0 and r2.returncode == 0:
        a = list(pandas.read_csv(os.path.join(o1, "requests.csv")).prompt_tokens)
        b = list(pandas.read_csv(os.path.join(o2, "requests.csv")).prompt_tokens)
        ok(a == b, "the same seed replays the same order", (a, b))

bad = os.path.join(tmp, "bad.jsonl")
with open(bad, "w") as f:
    f.write('{"prompt": "fine"}\n{"prompt": broken}\n')
r = run(["run", "--target", "http://127.0.0.1:1", "--data", bad, "--max-requests", 1])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "bad.jsonl:2" in r.stderr,
   "a broken line: exit 2, one line naming file and line", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "http://127.0.0.1:1", "--data", os.path.join(tmp, "missing.jsonl"), "--max-requests", 1])
ok(r.returncode in (1, 2) and r.stderr.count("\n") == 1 and "missing.jsonl" in r.stderr,
   "a missing dataset: one line naming it", f"rc={r.returncode} err={r.stderr!r}")
done()

#!/usr/bin/env python3
"""gen-env-doc.py - writes the LLMLOAD_* variable list of docs/configuration.md from
`llmload run --help` (itself generated from the option table in src/config_opts.c), between the
markers `<!-- env-list:begin -->` and `<!-- env-list:end -->`. test_config's test_env_documented
fails when a variable is missing, so rerun this after adding an option:

    scripts/gen-env-doc.py ./llmload docs/configuration.md
"""
import re
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen-env-doc.py LLMLOAD_BIN DOC.md")
    binary, doc = sys.argv[1], sys.argv[2]
    out = subprocess.run([binary, "run", "--help"], capture_output=True, text=True, timeout=30).stdout
    rows = []
    for m in re.finditer(r"^  --([a-z0-9-]+)( [^ ]+)?", out, re.M):
        name, metavar = m.group(1), (m.group(2) or "").strip()
        if name == "help":
            continue
        var = "LLMLOAD_" + name.upper().replace("-", "_")
        value = metavar if metavar else "1 or 0"
        if name in ("header", "server-metrics"):
            value += ", one per line"
        rows.append(f"| `{var}` | `--{name}` | {value} |")
    block = "\n".join(["<!-- env-list:begin -->", "| variable | flag | value |", "| --- | --- | --- |"]
                      + rows + ["<!-- env-list:end -->"])
    text = open(doc, encoding="utf-8").read()
    new, n = re.subn(r"<!-- env-list:begin -->.*?<!-- env-list:end -->", lambda _m: block, text,
                     flags=re.S)
    if n != 1:
        sys.exit(f"{doc}: no env-list markers")
    with open(doc, "w", encoding="utf-8") as f:
        f.write(new)
    print(f"{doc}: {len(rows)} variables")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""flatten-text.py - a text's whitespace-separated pieces, each followed by one space, at build time.

    scripts/flatten-text.py IN.txt OUT.txt

The prompt corpus (data/corpus/) is compiled into llmload in this form (src/corpus.c), so that a
prompt's window of words is one copy and creating a corpus only indexes it. Whitespace is ASCII's
(space, tab, newline, carriage return, vertical tab, form feed), as src/corpus.c's is_space. OUT is
written atomically (temp file + rename).
"""
import os
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], "rb") as f:
        pieces = f.read().split()
    if not pieces or max(len(p) for p in pieces) > 65535:
        sys.stderr.write(f"flatten-text: {argv[1]}: no words, or a word over 65535 bytes\n")
        return 1
    tmp = f"{argv[2]}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(b"".join(p + b" " for p in pieces))
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

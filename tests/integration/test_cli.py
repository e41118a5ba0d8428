"""CLI basics: --version, --help, unknown command -> exit 2 with one line."""
from lltest import ok, run, done

r = run(["--version"])
ok(r.returncode == 0 and r.stdout.startswith("llmload 0.1.0"), "--version prints the version", repr(r.stdout))
r = run(["--help"])
ok(r.returncode == 0 and "run" in r.stdout and "sim" in r.stdout, "--help lists commands", repr(r.stdout))
r = run(["frobnicate"])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "frobnicate" in r.stderr,
   "unknown command: exit 2, one line naming it", f"rc={r.returncode} err={r.stderr!r}")
r = run([])
ok(r.returncode == 2, "no command: exit 2", f"rc={r.returncode}")
r = run(["merge", "a.json", "b.json"])
ok(r.returncode == 2 and "-o OUTDIR is required" in r.stderr and r.stderr.count("\n") == 1,
   "merge without -o: exit 2, one line", f"rc={r.returncode} err={r.stderr!r}")
r = run(["merge", "--help"])
ok(r.returncode == 0 and "usage: llmload merge" in r.stdout, "merge --help", repr(r.stdout[:200]))
done()

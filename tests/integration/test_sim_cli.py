"""llmload sim command line: --help lists every flag with its default, bad flags exit 2 with one
line, a port in use exits 1 with one line, SIGINT/SIGTERM stop cleanly (exit 0; under ASan that
includes a clean leak check) even with streams in flight."""
import signal
import socket
import threading

from lltest import Sim, done, ok, run
from simclient import chat, one

FLAGS = ["listen", "model", "max-num-seqs", "kv-cache-tokens", "ttft-ms", "prefill-ms-per-1k", "itl-ms",
         "itl-ms-per-seq", "max-model-len", "output-tokens", "output-tokens-stdev", "tokens-per-event",
         "reasoning-tokens", "early-eos-rate", "seed", "error-rate", "rate-limit-rate", "disconnect-rate",
         "malformed-rate", "stall-rate", "stall-seconds", "api-key", "max-body-bytes", "help"]

r = run(["sim", "--help"])
lines = r.stdout.splitlines()
missing = [f for f in FLAGS if not any(ln.strip().startswith(f"--{f}") for ln in lines)]
ok(r.returncode == 0 and not missing, "--help lists every flag", f"rc={r.returncode} missing={missing}")
# A long left side (a list of choices) has its help on the next line: judge the two together.
entries = [ln + (lines[i + 1] if i + 1 < len(lines) and not lines[i + 1].strip().startswith("--") else "")
           for i, ln in enumerate(lines)]
no_default = [ln for ln in entries if ln.strip().startswith("--") and not ln.strip().startswith("--help")
              and "(default " not in ln]
ok(not no_default, "--help gives every flag's default", str(no_default))
ok("(default 127.0.0.1:8000)" in r.stdout and "(default 256)" in r.stdout and "(default 1000000)" in r.stdout,
   "--help shows listen, max-num-seqs and kv-cache-tokens defaults", "")

for args, what in [(["--bogus"], "unknown flag"), (["--itl-ms", "fast"], "non-numeric value"),
                   (["--error-rate", "1.5"], "rate above 1"), (["--max-num-seqs", "0"], "zero max-num-seqs"),
                   (["--listen", "nowhere"], "listen without a port"),
                   (["--listen", "localhost:80"], "listen on a host name"), (["--itl-ms"], "missing value"),
                   (["--model", 'a"b'], "model name with a quote"), (["extra"], "stray argument")]:
    r = run(["sim", *args], timeout=10)
    ok(r.returncode == 2 and r.stderr.count("\n") == 1 and r.stdout == "",
       f"{what}: exit 2, one line on stderr", f"rc={r.returncode} err={r.stderr!r}")

holder = socket.socket()
holder.bind(("127.0.0.1", 0))
holder.listen(1)
port = holder.getsockname()[1]
r = run(["sim", "--listen", f"127.0.0.1:{port}"], timeout=10)
holder.close()
ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "in use" in r.stderr,
   "port in use: exit 1, one line", f"rc={r.returncode} err={r.stderr!r}")

for sig in (signal.SIGTERM, signal.SIGINT):
    sim = Sim("--ttft-ms", 1, "--itl-ms", 1).start()
    try:
        one(sim.port, "POST", "/v1/chat/completions", chat(3))
        # Leave three long streams open at the moment of the signal.
        socks = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
            body = b'{"prompt":"x","max_tokens":30000,"stream":true}'
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            socks.append(s)
        proc = sim.proc
        # The three streams are in flight once the headers of each have come back.
        heads = [s.recv(4096) for s in socks]
        ok(all(h.startswith(b"HTTP/1.1 200") for h in heads), "three streams open before the signal", str(heads))
    finally:
        rc, err = sim.stop(sig)
        for s in socks:
            s.close()
    ok(proc.stdout.read() == "", "nothing on stdout after the listening line", "")
    ok(rc == 0, f"{signal.Signals(sig).name}: exit 0 with streams in flight", f"rc={rc} err={err[-500:]!r}")
    ok("ERROR: AddressSanitizer" not in err and "LeakSanitizer" not in err, f"{signal.Signals(sig).name}: no sanitizer report",
       err[-300:])

done()

"""TLS: https targets are verified by default (certificate chain and host name); --ca-cert FILE trusts
a private CA; --insecure skips the check. The server is tests/integration/fakeserver.py over the
standard library's ssl with a throwaway CA and certificates made by the `openssl` command line. The
API key goes to the server and nowhere else: not stdout, stderr, or any file in --out."""
import os
import shutil
import subprocess
import tempfile
import time

from fakeserver import FakeServer
from lltest import ASAN_SLACK, MULT, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-tls-")
SECRET = "sk-tls-secret-5f2b9c0e7d1a4"
ENV = {"OPENAI_API_KEY": SECRET}


def openssl(*args):
    subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True, timeout=60 * MULT)


def make_certs():
    """ca.pem signs good.pem (SAN IP:127.0.0.1) and wrongname.pem (SAN DNS:example.invalid);
    self.pem is self-signed for 127.0.0.1."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=llmload test CA")
    for name, san in (("good", "IP:127.0.0.1"), ("wrongname", "DNS:example.invalid")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")
        with open(os.path.join(tmp, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out", "self.pem", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")


def p(name):
    return os.path.join(tmp, name)


def leaks(r, out=None):
    """Where the key shows up: stdout, stderr, or a file under out."""
    where = [n for n, text in (("stdout", r.stdout), ("stderr", r.stderr)) if SECRET in text]
    if out and os.path.isdir(out):
        for root, _, files in os.walk(out):
            for fn in files:
                with open(os.path.join(root, fn), "rb") as f:
                    if SECRET.encode() in f.read():
                        where.append(fn)
    return where


def llmload(url, *args, out=None):
    extra = ["--out", out] if out else []
    return run(["run", "--target", url, "--schedule", "synchronous", "--max-requests", 3, "--max-seconds", 0,
                "--data", "prompt_tokens=4,output_tokens=4", "--connect-timeout", 3, "--no-progress",
                "--no-calibrate", *extra, *args],  # fake servers count requests: no calibration probes
               env=ENV, timeout=60)


if not ok(shutil.which("openssl") is not None, "openssl command line available (Debian package openssl)"):
    done()
make_certs()

with FakeServer(["ok"], certfile=p("good.pem"), keyfile=p("good.key")) as fs:
    # 1. Default: verify; the test CA is not in the system store.
    t = time.monotonic()
    r = llmload(fs.url)
    el = time.monotonic() - t
    ok(r.returncode == 1 and r.stderr.count("\n") == 1, "untrusted CA: exit 1, one line",
       f"rc={r.returncode} err={r.stderr!r}")
    ok("certificate" in r.stderr and "--ca-cert" in r.stderr and "--insecure" in r.stderr,
       "the line says the certificate is not trusted and how to fix it", r.stderr)
    ok(el < 3 * ASAN_SLACK * MULT, f"fails fast ({el:.2f} s)", "")
    ok(fs.posts == 0, "no request was sent to an unverified server", str(fs.posts))
    ok(not leaks(r), "key not in the error output", leaks(r))

    # 2. --ca-cert: verified, works, key sent over TLS and nowhere else.
    out = p("out-ca")
    r = llmload(fs.url, "--ca-cert", p("ca.pem"), out=out)
    ok(r.returncode == 0, "--ca-cert ca.pem: exit 0", r.stderr[-300:])
    ok(fs.posts == 3, "3 streams served over TLS", str(fs.posts))
    auth = [h.get("authorization") for h in fs.headers_seen]
    ok(auth and all(a == f"Bearer {SECRET}" for a in auth), "the key reached the server on every request",
       f"{len(auth)} requests")
    ok(not leaks(r, out), "key in no output and no file of --out", leaks(r, out))
    ok({"report.json", "requests.csv", "summary.csv"} <= set(os.listdir(out)), "reports written",
       os.listdir(out))
    with open(os.path.join(out, "report.json")) as f:
        text = f.read()
    ok('"api_key"' in text and "<redacted>" in text, "report.json says a key was used, redacted", "")

    # 3. --insecure: no verification, works.
    out = p("out-insecure")
    before = fs.posts
    r = llmload(fs.url, "--insecure", out=out)
    ok(r.returncode == 0 and fs.posts - before == 3, "--insecure: exit 0, 3 streams", r.stderr[-300:])
    ok(not leaks(r, out), "key in no output and no file of --out (--insecure)", leaks(r, out))

    # 4. A CA file that is not the server's CA: still refused.
    r = llmload(fs.url, "--ca-cert", p("self.pem"))
    ok(r.returncode == 1 and "certificate" in r.stderr and r.stderr.count("\n") == 1,
       "--ca-cert of another CA: exit 1, certificate message", r.stderr)

# 5. Host name checked: a certificate from the trusted CA, issued for another name.
with FakeServer(["ok"], certfile=p("wrongname.pem"), keyfile=p("wrongname.key")) as fs:
    r = llmload(fs.url, "--ca-cert", p("ca.pem"))
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "127.0.0.1" in r.stderr and fs.posts == 0,
       "trusted CA, wrong host name: exit 1, one line", r.stderr)
    print("# " + r.stderr.strip())
    r = llmload(fs.url, "--insecure")
    ok(r.returncode == 0 and fs.posts == 3, "wrong host name with --insecure: works", r.stderr[-300:])

# 6. Self-signed: refused by default, trusted when it is itself the --ca-cert.
with FakeServer(["ok"], certfile=p("self.pem"), keyfile=p("self.key")) as fs:
    r = llmload(fs.url)
    ok(r.returncode == 1 and "self-signed" in r.stderr and r.stderr.count("\n") == 1,
       "self-signed: exit 1, says self-signed", r.stderr)
    r = llmload(fs.url, "--ca-cert", p("self.pem"))
    ok(r.returncode == 0 and fs.posts == 3, "self-signed with --ca-cert itself: works", r.stderr[-300:])

# 7. Plain HTTP to a TLS port fails cleanly too (one line, exit 1, no hang).
with FakeServer(["ok"], certfile=p("good.pem"), keyfile=p("good.key")) as fs:
    t = time.monotonic()
    r = llmload(fs.url.replace("https://", "http://"))
    el = time.monotonic() - t
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and el < 5 * ASAN_SLACK * MULT,
       f"http:// to a TLS port: exit 1, one line, {el:.1f} s", r.stderr)

done()

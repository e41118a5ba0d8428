"""lltest - shared helpers for llmload's end-to-end tests (Python standard library only).

Every test talks only to 127.0.0.1, bounds every loop in time and count, and stops each process it
started by its PID. Results are TAP-style lines (`ok - ...` / `not ok - ...`) that
scripts/run-tests.sh counts. Timeouts scale with LLMLOAD_TEST_TIMEOUT_MULTIPLIER; under the
sanitizer build (LLMLOAD_MODE=asan) timing margins are widened by ASAN_SLACK, because the
instrumented binary is several times slower.
"""
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

BIN = os.environ.get("LLMLOAD_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "release", "llmload")
MULT = float(os.environ.get("LLMLOAD_TEST_TIMEOUT_MULTIPLIER", "1"))
MODE = os.environ.get("LLMLOAD_MODE", "release")
ASAN = MODE == "asan"
ASAN_SLACK = 4.0 if ASAN else 1.0

_failures = 0
_count = 0


def ok(cond, desc, detail=""):
    """Print one TAP line; a failing check shows its detail (both sides of the comparison)."""
    global _failures, _count
    _count += 1
    if cond:
        print(f"ok {_count} - {desc}", flush=True)
    else:
        _failures += 1
        print(f"not ok {_count} - {desc}" + (f" # {detail}" if detail else ""), flush=True)
    return cond


def near(actual, expected, margin, desc):
    """ok() for |actual - expected| <= margin, printing both values."""
    good = actual is not None and abs(actual - expected) <= margin
    return ok(good, f"{desc}: {actual} within {margin} of {expected}",
              f"actual={actual} expected={expected} margin={margin}")


def done():
    """Exit non-zero when any check failed or none ran."""
    sys.exit(1 if _failures or _count == 0 else 0)


class Sim:
    """`llmload sim` on 127.0.0.1 with an OS-chosen port, stopped by PID on exit.

    The simulator prints `listening on http://127.0.0.1:PORT` on stdout once it accepts.
    """

    def __init__(self, *args, ready_timeout=10.0):
        self.args = [BIN, "sim", "--listen", "127.0.0.1:0", *map(str, args)]
        self.ready_timeout = ready_timeout * MULT
        self.proc = None
        self.port = None
        self.url = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + self.ready_timeout
        import select
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if "listening on http://" not in line:
            err = ""
            if self.proc.poll() is not None:
                err = self.proc.stderr.read()
            self.stop()
            raise RuntimeError(f"sim did not start: {line!r} {err!r}")
        self.url = line.strip().split("listening on ", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop by PID; returns (exit code, stderr text)."""
        if not self.proc:
            return None, ""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout * MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        rc = self.proc.returncode
        self.proc = None
        return rc, err

    def conn(self, timeout=10.0):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * MULT)

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """One request on a new connection; returns (status, headers dict, body bytes)."""
        c = self.conn(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            hdrs = {"Content-Type": "application/json"} if body is not None else {}
            hdrs.update(headers or {})
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def metrics(self):
        """GET /metrics parsed to {name{labels}: value} (labels kept verbatim in the key)."""
        _, _, body = self.request("GET", "/metrics")
        out = {}
        for line in body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, val = line.rpartition(" ")
            try:
                out[key] = float(val)
            except ValueError:
                pass
        return out


def run(args, timeout=60.0, env=None, input=None):
    """Run llmload with args; returns CompletedProcess (text). Bounded by timeout * MULT."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout * MULT, env=e, input=input)


def stderr_until(proc, want, timeout):
    """Reads proc's stderr until a line containing want arrives, the process ends or timeout
    passes; returns (that line or None, every line read). Reads the pipe's descriptor itself: a
    text wrapper's readline buffers a chunk holding several lines, and select() cannot see the
    lines left in that buffer (the one a test waits for could sit there until the run's end)."""
    fd, buf, seen = proc.stderr.fileno(), b"", []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(seen) < 1000:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace") + "\n"
            seen.append(text)
            if want in text:
                return text, seen
    return None, seen


def sse_events(raw):
    """Split an SSE body into the list of `data:` payload strings."""
    events = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        data = [ln[5:].lstrip(" ") if ln.startswith("data:") else None for ln in block.split("\n")]
        data = [d for d in data if d is not None]
        if data:
            events.append("\n".join(data))
    return events


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout * MULT) as r:
        return r.status, r.read().decode()


class Service:
    """A Debian service binary on a free 127.0.0.1 port, ready at /-/ready, stopped by PID."""

    def __init__(self, argv_for_port):
        self.argv_for_port = argv_for_port

    def __enter__(self):
        for _ in range(3):  # the free port can be taken between the probe and the bind
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.proc = subprocess.Popen(self.argv_for_port(self.port), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 20 * MULT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if get(self.url + "/-/ready", 1)[0] == 200:
                        return self
                except OSError:
                    time.sleep(0.1)
            self.__exit__()
        raise RuntimeError(f"{self.argv_for_port(0)[0]} did not become ready")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10 * MULT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class StandInServer:
    """A threaded raw-socket HTTP stand-in on 127.0.0.1 (an OS-chosen port), for the tests that
    need bytes no real server sends: an accept loop on its own thread and one daemon thread per
    connection calling serve(sock, conn_no), which a subclass writes (the socket is closed after
    it returns). read_request() reads one request off a connection. `connections` counts accepted
    connections. On exit the loop stops and the listener closes; a connection thread ends with its
    socket's timeout at worst."""

    def __init__(self, backlog=64, conn_timeout=10.0):
        self.lock = threading.Lock()
        self.connections = 0
        self.conn_timeout = conn_timeout
        self.lst = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.lst.settimeout(0.1)
        self.port = self.lst.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Ends the accept loop and closes the listener (later connects are refused). Idempotent;
        callable from a connection thread (it does not join itself)."""
        self.stop_ev.set()
        if threading.current_thread() is not self.thread and self.thread.is_alive():
            self.thread.join(timeout=5)
        try:
            self.lst.close()
        except OSError:
            pass

    def accept_loop(self):
        while not self.stop_ev.is_set():
            try:
                sock, _ = self.lst.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                n = self.connections
                self.connections += 1
            threading.Thread(target=self._serve, args=(sock, n), daemon=True).start()

    def _serve(self, sock, conn_no):
        sock.settimeout(self.conn_timeout)
        try:
            self.serve(sock, conn_no)
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def serve(self, sock, conn_no):
        raise NotImplementedError

    @staticmethod
    def read_request(sock, buf=b"", max_head=1 << 20, body_delay=0.0):
        """One request from sock, buf holding bytes already read: ((request line, headers with
        lower-case names, body bytes), the bytes after it), or (None, b"") when the peer closed (or
        sent a head past max_head) first. The body is Content-Length's; body_delay seconds pass
        before it is read (so the client's socket buffer fills up)."""
        while b"\r\n\r\n" not in buf:
            if len(buf) > max_head:
                return None, b""
            got = sock.recv(65536)
            if not got:
                return None, b""
            buf += got
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        need = int(headers.get("content-length", "0") or 0)
        if body_delay:
            time.sleep(body_delay)
        while len(rest) < need:
            got = sock.recv(1 << 20)
            if not got:
                return None, b""
            rest += got
        return (lines[0], headers, rest[:need]), rest[need:]

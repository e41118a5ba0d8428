"""simclient - a raw-socket HTTP/1.1 client for the simulator's end-to-end tests (stdlib only).

http.client hides chunk boundaries and arrival times; these tests need both: every SSE event is
stamped with time.monotonic() at the recv() that completed it, on a blocking socket, and the raw
bytes are kept so the exact layout can be checked. Every read is bounded by a socket timeout.
"""
import json
import socket
import time

from lltest import MULT


class Response:
    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = b""          # de-chunked body
        self.events = []         # (monotonic time, payload str) per `data:` event
        self.t_sent = None
        self.complete = False    # terminating zero-length chunk (or full content-length) seen
        self.closed = False      # server closed the connection


class Conn:
    """One keep-alive connection; requests are sent one after another."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout * MULT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, method, path, body=None, headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        t = time.monotonic()
        self.sock.sendall(raw)
        return t

    def _recv(self):
        data = self.sock.recv(65536)
        now = time.monotonic()
        if not data:
            raise EOFError
        self.buf += data
        return now

    def request(self, method, path, body=None, headers=None, max_seconds=30.0):
        r = Response()
        r.t_sent = self.send(method, path, body, headers)
        deadline = time.monotonic() + max_seconds * MULT
        pending = b""        # SSE text not yet split into events
        try:
            while b"\r\n\r\n" not in self.buf:
                self._recv()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            r.status = int(lines[0].split()[1])
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                r.headers[k.strip().lower()] = v.strip()
            if r.headers.get("transfer-encoding") == "chunked":
                now = time.monotonic()
                while time.monotonic() < deadline:
                    while b"\r\n" not in self.buf:
                        now = self._recv()
                    size_line, rest = self.buf.split(b"\r\n", 1)
                    size = int(size_line, 16)
                    while len(rest) < size + 2:
                        now = self._recv()
                        rest = self.buf.split(b"\r\n", 1)[1]
                    chunk, self.buf = rest[:size], rest[size + 2:]
                    if size == 0:
                        r.complete = True
                        break
                    r.body += chunk
                    pending += chunk
                    while b"\n\n" in pending:
                        ev, pending = pending.split(b"\n\n", 1)
                        for ln in ev.decode().split("\n"):
                            if ln.startswith("data: "):
                                r.events.append((now, ln[6:]))
            else:
                n = int(r.headers.get("content-length", "0"))
                while len(self.buf) < n:
                    self._recv()
                r.body, self.buf = self.buf[:n], self.buf[n:]
                r.complete = True
        except (EOFError, ConnectionResetError):
            r.closed = True
        return r


def one(port, method, path, body=None, headers=None, max_seconds=30.0):
    c = Conn(port)
    try:
        return c.request(method, path, body, headers, max_seconds)
    finally:
        c.close()


def chat(max_tokens=5, stream=True, words="one two three", **extra):
    body = {"model": "llmload-sim", "messages": [{"role": "user", "content": words}],
            "max_tokens": max_tokens, "ignore_eos": True, "stream": stream}
    body.update(extra)
    return body


def token_events(events):
    """Events that carry a token (content, reasoning_content or text), as (time, parsed)."""
    out = []
    for t, p in events:
        if p == "[DONE]":
            continue
        try:
            d = json.loads(p)
        except ValueError:
            continue
        for ch in d.get("choices", []):
            delta = ch.get("delta", {})
            if delta.get("content") or delta.get("reasoning_content") or ch.get("text"):
                out.append((t, d))
                break
    return out

"""fakeserver - a tiny misbehaving OpenAI-compatible server for llmload's failure tests (stdlib only).

The simulator (`llmload sim`) injects the faults an inference engine produces; this server makes the
ones it cannot: a clean end without [DONE], an error object inside the stream, a reset, a close before
any answer, an oversized event, a reply that never comes, TLS, a gzip-encoded stream nobody asked
for, a 2 MB response header, and a 413 sent before the request body is read, then a close. It listens on 127.0.0.1 with an
OS-chosen port, answers GET /v1/models, and gives POST number i (from 0) the behaviour
`behaviours[i % len(behaviours)]`. Every response carries `Connection: close`, so each request has
its own connection and curl never silently retries one on a reused connection: the server's count of
POSTs is exactly the client's count of requests. Threads are daemons, bounded by `hold_s`, and
stop() ends the server in this process.
"""
import gzip
import json
import socket
import socketserver
import ssl
import threading

TOKENS = 4


def chunk(content):
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": {"content": content}, "logprobs": None, "finish_reason": None}]}


def event(obj):
    return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"


def tokens(n=TOKENS):
    return b"".join(event(chunk(f" w{i}")) for i in range(n))


DONE = b"data: [DONE]\n\n"
FINISH = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
          "choices": [{"index": 0, "delta": {"content": ""}, "logprobs": None, "finish_reason": "length"}]}
SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Connection: close\r\n\r\n")
SERVER_ERROR_MSG = "fake: CUDA out of memory while decoding"
HTTP_400_MSG = "fake: This model's maximum context length is 16 tokens"
# Server text that would break a reader or a terminal: ESC sequences, a bell, a C1 CSI, quotes, commas,
# and bytes that are not UTF-8 (no NUL: the HTTP clients stop a C string there).
HOSTILE_JSON = (b'evil \\u001b[31mRED\\u001b[0m \\u0007bell, \\"quoted\\", \\u009b2J cr\\r nl\\n bad\xff\xfe\xc3('
                b' caf\xc3\xa9 end')
HOSTILE_RAW = b'raw \x1b]0;title\x07 \x1b[2J bad\xff\x80, "q", \x08\x7f caf\xc3\xa9 end'
HTTP_413_MSG = "fake: request body too large"


def http_error(code, reason, message):
    body = json.dumps({"object": "error", "message": message, "type": "BadRequestError", "param": None,
                       "code": code}).encode()
    return (f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server.owner
        sock = self.request
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            got = sock.recv(65536)
            if not got:
                return
            data += got
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        need = int(headers.get("content-length", "0"))
        if method == "POST" and srv.close_body_over is not None and need > srv.close_body_over:
            # A server that refuses a huge body by hanging up while the client is still writing it.
            with srv.lock:
                srv.posts += 1
                srv.served["close_body"] = srv.served.get("close_body", 0) + 1
            sock.shutdown(socket.SHUT_WR)  # FIN, then the close's RST (unread data): EPIPE, not ECONNRESET
            sock.close()
            return
        if method == "POST" and srv.behaviours[srv.posts % len(srv.behaviours)] == "too_large":
            # Answered from the head alone, as servers do with a body past their limit.
            with srv.lock:
                srv.posts += 1
                srv.served["too_large"] = srv.served.get("too_large", 0) + 1
            self.do_too_large(sock)
            return
        while len(body) < need:
            got = sock.recv(65536)
            if not got:
                return
            body += got
        with srv.lock:
            srv.headers_seen.append(headers)
            if method == "POST":
                srv.bodies_seen.append(body)
        if method == "GET":
            b = json.dumps({"object": "list", "data": [{"id": srv.model_id, "object": "model"}]}).encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(b)).encode() + b"\r\nConnection: close\r\n\r\n" + b)
            return
        with srv.lock:
            i = srv.posts
            srv.posts += 1
        kind = srv.behaviours[i % len(srv.behaviours)]
        with srv.lock:
            srv.served[kind] = srv.served.get(kind, 0) + 1
        getattr(self, "do_" + kind)(sock)

    def do_ok(self, sock):
        sock.sendall(SSE_HEAD + tokens() + DONE)

    def do_no_done(self, sock):
        # Every token and a clean close, but no finish_reason and never data: [DONE]: cut short?
        sock.sendall(SSE_HEAD + tokens())

    def do_finish_no_done(self, sock):
        # Perplexity, GPUStack: a finish_reason, then a clean close (the end of a body that runs
        # to the close) without data: [DONE]. Complete.
        sock.sendall(SSE_HEAD + tokens() + event(FINISH))

    def do_finish_cut(self, sock):
        # A finish_reason, then a close inside the next event: cut short all the same.
        sock.sendall(SSE_HEAD + tokens() + event(FINISH) + b'data: {"choices":[],"usage":{"prompt')

    def do_server_error(self, sock):
        # vLLM's shape for a failure after the 200 has gone out: an error object as an event.
        err = {"error": {"object": "error", "message": SERVER_ERROR_MSG, "type": "InternalServerError",
                         "param": None, "code": 500}}
        sock.sendall(SSE_HEAD + tokens(2) + event(err) + DONE)

    def do_http_400(self, sock):
        sock.sendall(http_error(400, "Bad Request", HTTP_400_MSG))

    def do_reset(self, sock):
        # Two tokens, then a TCP reset (SO_LINGER 0) instead of a close.
        sock.sendall(SSE_HEAD + tokens(2))
        self._reset(sock)

    def do_close_early(self, sock):
        # The request is read, then the connection is closed with no answer at all.
        self._reset(sock)

    def do_cut_event(self, sock):
        # A clean close in the middle of an event: the stream ended inside it.
        sock.sendall(SSE_HEAD + tokens(2) + b'data: {"choices":[{"index":0,"delta":{"content":" w')

    def do_oversize(self, sock):
        # One data line past llmload's 1 MiB event cap.
        sock.sendall(SSE_HEAD + tokens(1) + b"data: " + b"x" * (1 << 20) + b"xxxx")
        try:
            sock.sendall(b"\n\n" + DONE)
        except OSError:
            pass

    def do_hostile_json(self, sock):
        # A 500 whose JSON message decodes to escape sequences and control bytes, around raw bytes that
        # are not UTF-8.
        body = (b'{"object":"error","message":"' + HOSTILE_JSON + b'","type":"InternalServerError","code":500}')
        sock.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    def do_hostile_raw(self, sock):
        # A 502 from a proxy in front: not JSON, its raw bytes are the message.
        sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: "
                     + str(len(HOSTILE_RAW)).encode() + b"\r\nConnection: close\r\n\r\n" + HOSTILE_RAW)

    def do_hostile_event(self, sock):
        # An error object inside a 200 stream with the same hostile message.
        sock.sendall(SSE_HEAD + tokens(1) + b'data: {"error":{"message":"' + HOSTILE_JSON + b'","code":500}}\n\n'
                     + DONE)

    def do_retry_after_hour(self, sock):
        # A 429 asking the client to wait an hour.
        body = b'{"object":"error","message":"fake: rate limited","code":429}'
        sock.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    def do_hang(self, sock):
        # Reads the request and never answers: the client's --request-timeout must end it.
        self.server.owner.stop_event.wait(self.server.owner.hold_s)

    def do_stall(self, sock):
        # Headers and one token, then silence: --stream-timeout must end it.
        sock.sendall(SSE_HEAD + tokens(1))
        self.server.owner.stop_event.wait(self.server.owner.hold_s)

    def do_gzip(self, sock):
        # A compressed stream, though llmload sent no Accept-Encoding.
        z = gzip.compress(tokens() + DONE)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
                     b"Content-Length: " + str(len(z)).encode() + b"\r\nConnection: close\r\n\r\n" + z)

    def do_huge_header(self, sock):
        # A 2 MB response header, past every client's cap (curl 100 KiB, http-parser 80 KiB).
        try:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Pad: " + b"x" * (2 << 20)
                         + b"\r\nConnection: close\r\n\r\n" + tokens() + DONE)
        except OSError:
            pass  # the client gave up on it, as it should

    def do_too_large(self, sock):
        # 413 from the request's head, then a close with the body unread (the kernel resets).
        try:
            sock.sendall(http_error(413, "Content Too Large", HTTP_413_MSG))
        except OSError:
            pass
        sock.close()

    @staticmethod
    def _reset(sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        # Close here: socketserver would send a FIN (shutdown SHUT_WR) before the reset, and a client
        # that reads the FIN first sees a clean end.
        sock.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def get_request(self):
        sock, addr = super().get_request()
        if self.owner.tls:
            sock.settimeout(10)
            try:
                sock = self.owner.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                # The client refused our certificate: counted, and the connection dropped.
                with self.owner.lock:
                    self.owner.tls_failures += 1
                sock.close()
                raise OSError("TLS handshake failed")
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-answer is what these tests are about


class FakeServer:
    def __init__(self, behaviours=("ok",), certfile=None, keyfile=None, hold_s=30.0, close_body_over=None,
                 model_id="fake"):
        self.behaviours = list(behaviours)
        self.model_id = model_id
        self.close_body_over = close_body_over
        self.hold_s = hold_s
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.posts = 0
        self.served = {}
        self.headers_seen = []
        self.bodies_seen = []  # each POST's body, in arrival order
        self.tls_failures = 0
        self.tls = None
        if certfile:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(certfile, keyfile)
        self.srv = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        self.srv.owner = self
        if close_body_over is not None:
            # A small receive window, so a large body cannot leave in one write before the hang-up.
            self.srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.srv.server_bind()
        self.srv.server_activate()
        self.port = self.srv.server_address[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_event.set()
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(timeout=5)

"""Messages that say what happened (issue "Nothing lost"), on both transports, against fakeserver
behaviours: a Content-Encoding: gzip stream (llmload sends no Accept-Encoding) is named as an
unsupported encoding, not "the stream ended inside an event"; a 2 MB response header is `oversize`
(curl 7.88 says "Out of memory"); a 413 sent from the request's head, followed by the server's close
with the body unread, is `http_4xx` with the server's message, not a disconnect or connect failure."""
import csv
import json
import os
import tempfile

from fakeserver import HTTP_413_MSG, FakeServer
from lltest import done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-conn-messages-")


def one(behaviour, transport, data="prompt_tokens=8,output_tokens=4", n=3):
    out = os.path.join(tmp, f"{behaviour}-{transport}")
    with FakeServer([behaviour]) as srv:
        r = run(["run", "--target", srv.url, "--no-calibrate", "--model", "fake", "--schedule", "synchronous", "--max-requests", n,
                 "--max-seconds", 0, "--data", data, "--no-progress", "--quiet", "--http-client", transport,
                 "--out", out], timeout=120)
    rows = []
    if os.path.exists(os.path.join(out, "requests.csv")):
        with open(os.path.join(out, "requests.csv")) as f:
            rows = list(csv.DictReader(f))
    return r, rows


for transport in ("builtin", "curl"):
    r, rows = one("gzip", transport)
    kinds = {(x["error_kind"], x["error"]) for x in rows}
    ok(len(rows) == 3 and all(x["status"] == "error" for x in rows), f"{transport}: gzip: every request failed",
       r.stderr[-300:])
    ok(all(k == "other" and "unsupported Content-Encoding: gzip" in e and "Accept-Encoding" in e for k, e in kinds),
       f"{transport}: gzip: named as an unsupported encoding the client did not ask for", json.dumps(sorted(kinds)))

    r, rows = one("huge_header", transport)
    kinds = {(x["error_kind"], x["error"]) for x in rows}
    ok(len(rows) == 3 and all(k == "oversize" for k, _ in kinds), f"{transport}: a 2 MB header is oversize",
       json.dumps(sorted(kinds)) + r.stderr[-300:])

    # A body far past the socket buffers: the server answers and closes while it is being written.
    r, rows = one("too_large", transport, data="prompt_tokens=2000000,output_tokens=4", n=2)
    kinds = {(x["error_kind"], x["http_status"], x["error"]) for x in rows}
    ok(len(rows) == 2 and all(k == ("http_4xx", "413", HTTP_413_MSG) for k in kinds),
       f"{transport}: 413 then close: http_4xx with the server's message", json.dumps(sorted(kinds)))

done()

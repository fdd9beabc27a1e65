"""A webhook receiver for the tests and the benchmark: a real process, standard library only.

    python receiver.py --port PORT --log FILE [--secret whsec_…] [--crash-after-record]

``POST /hook`` verifies the Standard Webhooks signature (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``, five minutes' tolerance) with the
shared secret: a bad or missing signature gets 401 and is written to ``FILE.rejected``. A good one appends
its ``webhook-id`` to ``FILE`` (once: a webhook-id already there is a duplicate, answered 200 and not
written again) and its body to ``FILE.bodies``. With ``--crash-after-record`` the process dies right after
writing the first id, before answering: the sender sees the connection drop while its delivery is in
flight. Every request is counted in ``FILE.requests``. ``/redirect`` answers 302 to ``/landed``, which
writes ``landed`` to ``FILE``. Prints ``ready <port>`` once listening.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOLERANCE = 300


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Verify a Standard Webhooks signature as a receiver must (constant-time, timestamp tolerance)."""
    msg_id, stamp, signatures = (
        headers.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (msg_id and stamp.isdigit() and signatures) or abs(time.time() - int(stamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    return any(
        version == "v1" and hmac.compare_digest(expected, given.encode())
        for version, _comma, given in (item.partition(",") for item in signatures.split())
    )


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--secret", default="")
    parser.add_argument("--crash-after-record", action="store_true")
    args = parser.parse_args()
    log: Path = args.log
    requests_log = log.with_name(log.name + ".requests")
    rejected_log = log.with_name(log.name + ".rejected")
    bodies_log = log.with_name(log.name + ".bodies")
    lock = threading.Lock()  # one request at a time decides "seen before?" and writes

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # headers and body go out at once (no delayed-ACK stall)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _answer(self, status: int, text: bytes = b"", location: str = "") -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_GET(self) -> None:
            _append(requests_log, b"GET\n")
            if self.path == "/redirect":
                self._answer(302, location=f"http://127.0.0.1:{self.server.server_address[1]}/landed")
            elif self.path == "/landed":
                _append(log, b"landed\n")
                self._answer(200, b"landed")
            else:
                self._answer(404)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            _append(requests_log, b"POST\n")
            if self.path == "/redirect":
                self._answer(302, location=f"http://127.0.0.1:{self.server.server_address[1]}/landed")
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            if not signature_valid(args.secret, headers, body):
                _append(rejected_log, headers.get("webhook-id", "-").encode() + b"\n")
                self._answer(401, b"bad signature")
                return
            msg_id = headers["webhook-id"]
            with lock:
                duplicate = msg_id in (log.read_text().split() if log.exists() else [])
                if not duplicate:
                    _append(bodies_log, body + b"\n")
                    _append(log, msg_id.encode() + b"\n")
            if duplicate:
                self._answer(200, b"duplicate")
                return
            if args.crash_after_record:
                os._exit(1)  # killed in flight: recorded, never answered
            self._answer(200, b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"ready {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())

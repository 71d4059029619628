"""A real HTTP receiver on loopback for delivery tests: records what arrives, answers as told.

It can be stopped and started again on the same port, to play a channel that is down for
a while.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        receiver: Receiver = self.server.receiver
        receiver.arrived.set()
        if receiver.delay:
            time.sleep(receiver.delay)  # a slow receiver: the sender's timeout, or a worker killed meanwhile
        with receiver.lock:
            status, headers = receiver.next_answer()
            if 200 <= status < 300:
                receiver.received.append({"id": self.headers.get("webhook-id"), "json": json.loads(body),
                                          "headers": dict(self.headers.items()), "body": body})
            else:
                receiver.refused.append(status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 - keep the test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Receiver:
    """Collects JSON POSTed to it; ``answers`` is a list of (status, headers) used up in order."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.refused: list[int] = []
        self.answers: list[tuple[int, dict]] = []
        self.delay = 0.0  # seconds before answering
        self.arrived = threading.Event()  # set when a request has come in (answered or not)
        self.lock = threading.Lock()
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/motorpool"

    def next_answer(self) -> tuple[int, dict]:
        return self.answers.pop(0) if self.answers else (204, {})

    def ids(self) -> list[str]:
        with self.lock:
            return [item["id"] for item in self.received]

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

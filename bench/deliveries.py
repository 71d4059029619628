"""Benchmark: the delivery worker's throughput, and what queuing adds to a dispatch change.

    python bench/deliveries.py [--deliveries 2000] [--workers 1] [--database-url URL]

Starts an HTTP receiver on loopback (answers 204 to every POST), queues N notifications
for the built-in ``webhook`` channel (JSON signed per Standard Webhooks, sent with httpx,
the example plugin switched off), and times worker rounds
(``deliver_due(limit=100)``) until every row is delivered — with ``--workers K`` threads
claiming at once. Then times one status change of a dispatch in its own transaction, with
and without the notification queued in it (console, log file and webhook routed), and
prints p50/p95 of the difference.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from bench.machine import machine  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Dispatch, NotificationDelivery  # noqa: E402
from app.plugins.contracts import Notification  # noqa: E402
from app.services import delivery_worker, demo, notifications  # noqa: E402
from app.services.actors import acting_as, system_user  # noqa: E402
from app.services.dispatches import create_dispatch  # noqa: E402
from app.services.transaction import transaction  # noqa: E402


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.count += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


SECRET = "whsec_" + base64.b64encode(b"motorpool-benchmark-secret-00001").decode()


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=200, help="dispatch changes timed with and without queuing")
    parser.add_argument("--database-url")
    args = parser.parse_args()

    server = _Server(("127.0.0.1", 0), _Receiver)
    server.lock, server.count = threading.Lock(), 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    folder = tempfile.mkdtemp(prefix="motorpool-bench-")
    url = args.database_url or "sqlite:///" + os.path.join(folder, "bench.db")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "MOTORPOOL_AUTO_ASSIGN": False,
        "MOTORPOOL_NOTIFIERS": "webhook", "MOTORPOOL_WEBHOOK_URL": hook_url, "MOTORPOOL_WEBHOOK_SECRET": SECRET,
        "MOTORPOOL_DISABLED_PLUGINS": "trailers", "MOTORPOOL_ALERT_LOG": os.path.join(folder, "alerts.log"),
    })
    which = "the built-in signed webhook"

    with app.app_context():
        upgrade(revision="heads")
        user = system_user()
        db.session.commit()
        with acting_as(user):
            with transaction():
                for n in range(args.deliveries):
                    notifications.notify(Notification(kind="alert.test", subject=f"Bench {n}", body="Benchmark"))

        # --- Throughput --------------------------------------------------------------------
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                with app.app_context():
                    while delivery_worker.deliver_due(limit=100, worker=name).claimed:
                        pass
                    db.session.remove()
            except BaseException as exc:
                errors.append(exc)

        started = time.perf_counter()
        threads = [threading.Thread(target=work, args=(f"bench-{k}",)) for k in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        delivered = db.session.scalar(select(func.count()).select_from(NotificationDelivery)
                                      .where(NotificationDelivery.status == "delivered"))
        if errors:
            raise errors[0]

        # --- Queuing cost ------------------------------------------------------------------
        app.config["MOTORPOOL_NOTIFIERS"] = "console,log_file,webhook"
        with acting_as(user):
            demo.seed_fleet()
            asset_id = db.session.scalar(select(Dispatch.asset_id).limit(1))
            dispatch = create_dispatch(title="Benchmark job", asset_id=asset_id, priority="High")
            note = Notification(kind="dispatch.assigned", subject=f"Dispatch {dispatch.dispatch_number} assigned",
                                body="Benchmark", recipients=["tech@example.com"], severity="warning",
                                dispatch_number=dispatch.dispatch_number)

            def change(queue: bool) -> float:
                begun = time.perf_counter()
                with transaction():
                    dispatch.description = f"changed {time.perf_counter()}"
                    if queue:
                        notifications.notify(note)
                return (time.perf_counter() - begun) * 1000

            for _ in range(20):  # warm up
                change(True), change(False)
            plain, queued = [], []
            for _ in range(args.runs):
                plain.append(change(False))
                queued.append(change(True))
            rows_per_change = sum(1 for route in notifications.channel_routes().values() if route.takes(note))
        plain_p50, plain_p95 = percentiles(plain)
        queued_p50, queued_p95 = percentiles(queued)
        added = [q - p for q, p in zip(queued, plain, strict=True)]
        added_p50, added_p95 = percentiles(added)

    server.shutdown()
    print(f"machine: {machine()}; database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':', 1)[0]}; "
          f"channel: {which}")
    print(f"worker: {delivered} of {args.deliveries} delivered by {args.workers} worker(s) in {elapsed:.2f} s "
          f"= {delivered / elapsed:.0f} deliveries/s (receiver counted {server.count})")
    print(f"dispatch change + commit: p50 {plain_p50:.2f} ms, p95 {plain_p95:.2f} ms without queuing; "
          f"p50 {queued_p50:.2f} ms, p95 {queued_p95:.2f} ms with {rows_per_change} channel rows queued")
    print(f"queuing adds: p50 {added_p50:.2f} ms, p95 {added_p95:.2f} ms")


if __name__ == "__main__":
    main()

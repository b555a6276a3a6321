"""A real huey consumer (worker threads) in the test process, on a configured queue."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from huey.consumer import Consumer

from orchestrator.jobs.queue import JobQueue


@contextmanager
def running_consumer(queue: JobQueue, workers: int = 1) -> Iterator[Consumer]:
    """Start huey's consumer on ``queue``; stop it (and check its threads ended) after."""
    worker = queue.huey.create_consumer(workers=workers, worker_type="thread", max_delay=0.1,
                                        initial_delay=0.05)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                         signal.SIGHUP)}
    worker.start()
    for sig, handler in handlers.items():  # the consumer's handlers are for a worker process
        signal.signal(sig, handler)
    try:
        yield worker
    finally:
        worker.stop(graceful=True)
        assert all(not thread.is_alive() for _, thread in worker.worker_threads)

"""The worker process: huey's consumer with thread workers, a heartbeat, clean stops.

- One worker per jobs database: it holds an exclusive lock on ``run/worker.lock``.
- At start, jobs left ``running`` by a worker that died are marked failed.
- It writes ``run/worker.heartbeat`` when its worker threads have started and every
  few seconds after; the stack takes the first write as "ready".
- SIGTERM stops gracefully: no new job starts, running jobs get up to
  ``SHUTDOWN_TIMEOUT`` seconds to finish. SIGINT (Ctrl-C) stops at once. Either way a
  job still running when the process leaves is marked failed ("interrupted").
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from orchestrator.jobs.queue import JobQueue, load_task_modules, registered_kinds
from orchestrator.settings import Settings

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 8.0  # below the 10 s after which the stack sends SIGKILL
HEARTBEAT_SECONDS = 5.0
MAX_POLL = 1.0  # seconds an idle worker waits between looks at the queue
ORPHANED = "interrupted: the worker stopped while this job ran; start it again"


class WorkerError(RuntimeError):
    """The worker cannot start; the message says why."""


def heartbeat_path(settings: Settings) -> Path:
    return settings.run_dir / "worker.heartbeat"


@contextlib.contextmanager
def single_worker(settings: Settings) -> Iterator[None]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / "worker.lock"
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WorkerError(f"another worker already runs for {settings.var_dir} "
                              f"(lock {path})") from exc
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def run_worker(queue: JobQueue, workers: int, echo: Callable[[str], None]) -> list[int]:
    """Run the consumer until a signal stops it; return the ids of interrupted jobs."""
    settings = queue.settings
    with single_worker(settings):
        modules = load_task_modules()
        orphans = queue.fail_running(ORPHANED, only_in_flight=False)
        if orphans:
            echo(f"marked failed, left running by a previous worker: {orphans}")
        echo(f"worker: {workers} thread(s), queue {queue.path}, task modules "
             f"{', '.join(modules) or 'none'}; job kinds: "
             f"{', '.join(registered_kinds()) or 'none'}")
        consumer = queue.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=True, flush_locks=True,
            graceful_signal="TERM", shutdown_timeout=SHUTDOWN_TIMEOUT, max_delay=MAX_POLL)
        beat = heartbeat_path(settings)
        first = threading.Lock()

        def _beat() -> None:
            while True:
                beat.write_text(f"{os.getpid()}\n")
                if consumer.stop_flag.wait(HEARTBEAT_SECONDS):
                    return

        def _first_beat() -> None:  # in each worker thread as it starts
            if first.acquire(blocking=False):  # held for good: one heartbeat thread
                threading.Thread(target=_beat, name="heartbeat", daemon=True).start()

        queue.huey.on_startup("heartbeat")(_first_beat)

        try:
            consumer.run()
        finally:
            interrupted = queue.fail_running(ORPHANED, only_in_flight=True)
            beat.unlink(missing_ok=True)
        if interrupted:
            echo(f"interrupted jobs marked failed: {interrupted}")
        echo("worker stopped")
        return interrupted

"""Worker processes that can neither hang nor outlive the process that uses them.

A task that fails comes back as a value (the caller's function catches its own
errors); a worker that dies (killed, out of memory) ends the iteration with a
DataError naming the task it may have held, instead of waiting forever; workers
leave Ctrl-C to their parent and exit when it goes away.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal

from ..errors import DataError

_POLL_SECONDS = 0.5


def _context():
    # fork: the dataset is inherited, not pickled, and no module is imported again
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _serve(function, tasks, results, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # A Python handler inherited from the parent (training's stop request)
    # would turn terminate() into a no-op.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            job = tasks.get(timeout=_POLL_SECONDS * 2)
        except queue.Empty:
            if os.getppid() != parent:  # the parent is gone (killed): nobody will read the results,
                results.cancel_join_thread()  # so do not wait at exit to flush them into a full pipe
                return
            continue
        if job is None:
            return
        number, task = job
        try:
            # Pickled here: a result the queue's feeder thread failed to pickle would be
            # dropped with a traceback, and the parent would wait for it forever.
            payload = pickle.dumps(function(task), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 - a bug in function: reported by the parent
            payload = pickle.dumps(_Crash(f"{type(error).__name__}: {' '.join(str(error).split())}"))
        results.put((number, payload))


class _Crash:
    """What ``function`` raised instead of returning."""

    def __init__(self, text: str):
        self.text = text


class WorkerPool:
    """``processes`` processes running ``function(task)``; ``function`` must
    return its errors as values rather than raise them."""

    def __init__(self, function, processes: int):
        context = _context()
        self.tasks = context.Queue()
        self.results = context.Queue()
        self.workers = [
            context.Process(target=_serve, args=(function, self.tasks, self.results, os.getpid()), daemon=True)
            for _ in range(processes)
        ]
        for worker in self.workers:
            worker.start()

    def map(self, tasks, window: int, describe):
        """Results in the order of ``tasks``, at most ``window`` tasks in flight.
        ``describe(task)`` names a task's files if its worker dies."""
        tasks = iter(tasks)
        in_flight, done = {}, {}
        submitted = delivered = 0

        def submit() -> None:
            nonlocal submitted
            task = next(tasks, None)
            if task is not None:
                in_flight[submitted] = task
                self.tasks.put((submitted, task))
                submitted += 1

        for _ in range(window):
            submit()
        while delivered < submitted:
            while delivered not in done:
                try:
                    number, result = self.results.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    self._check_alive(in_flight, describe)
                    continue
                done[number] = result
            result = pickle.loads(done.pop(delivered))
            if isinstance(result, _Crash):
                raise DataError(f"{describe(in_flight[delivered])}: reading these files failed ({result.text})")
            del in_flight[delivered]
            delivered += 1
            submit()
            yield result

    def _check_alive(self, in_flight: dict, describe) -> None:
        for worker in self.workers:
            if worker.exitcode is not None:
                how = f"killed by signal {-worker.exitcode}" if worker.exitcode < 0 else f"exit code {worker.exitcode}"
                held = "; ".join(describe(task) for task in in_flight.values())
                raise DataError(f"{held}: a data worker process died ({how}, perhaps out of memory) while reading "
                                "these files; retry with data.num_workers: 0 to see which one")

    def close(self) -> None:
        for worker in self.workers:
            if worker.is_alive():
                worker.terminate()
        for worker in self.workers:
            worker.join(timeout=5)
        for channel in (self.tasks, self.results):
            channel.cancel_join_thread()  # never wait at exit for items nobody will read
            channel.close()

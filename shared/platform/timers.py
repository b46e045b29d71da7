"""A nameko timer that costs next to nothing at rest: it ticks every `minimum` seconds while its
worker finds work and backs off, doubling, to `maximum` while it finds none; `wake()` makes the next
tick come now (work has just appeared in this process). The worker returns something truthy when it
found work; a worker that raised counts as work (whatever failed is retried at the short interval).
"""
import weakref

import eventlet.queue
from nameko.timer import Timer

from shared.platform.resilience import run_tick


class BackoffTimer(Timer):
    """Subclasses say their bounds from the service's config (`bounds(config)` -> (minimum, maximum))."""

    def __init__(self, **kwargs):
        super().__init__(interval=1.0, **kwargs)
        self.minimum = self.maximum = 1.0
        self._wakeup = eventlet.queue.LightQueue()
        self._found_work = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._timers = weakref.WeakSet()  # wake_all() wakes this kind of timer only

    def bounds(self, config):
        raise NotImplementedError

    def setup(self):
        minimum, maximum = self.bounds(self.container.config)
        self.minimum, self.maximum = minimum, max(minimum, maximum)
        self.interval = self.minimum
        type(self)._timers.add(self)

    def wake(self):
        self.interval = self.minimum
        if not self._wakeup.qsize():
            self._wakeup.put_nowait(True)

    @classmethod
    def wake_all(cls):
        """Every timer of this kind in this process ticks now."""
        for timer in list(cls._timers):
            timer.wake()

    def stop(self):
        self.should_stop.send(True)
        self._wakeup.put_nowait(True)
        self.gt.wait()

    def _run(self):
        while True:
            try:
                self._wakeup.get(timeout=self.interval)
            except eventlet.queue.Empty:
                pass
            if self.should_stop.ready():
                return
            self._found_work = False
            if not run_tick(self):
                return
            self.interval = self.minimum if self._found_work else min(self.interval * 2, self.maximum)

    def handle_result(self, worker_ctx, result, exc_info):
        self._found_work = bool(result) or exc_info is not None
        return result, exc_info

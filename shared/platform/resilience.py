"""Riding out a broker, database or Redis outage: the few places where nameko 2.14 turns a
connection error into the death of its container (and so of the process), patched at that depth.

Every nameko process calls `apply()` once, before it starts its container (shared/platform/runtime.py's
main() and the tracker projector's command do). What it changes, and why (docs/decisions.md has
the longer story):

- RPC replies (`Responder.send_response`): a reply that cannot be published is dropped and
  logged; nameko let the error out of the worker, which kills the container. The caller times out
  and retries under its idempotency key. A handler that failed because its database (or the
  broker) was unreachable answers with the typed `shared.contracts.exceptions.Unavailable`, which the
  gateway maps to a 503, instead of an untyped RemoteError (a 500).
- Acks and requeues (`QueueConsumer.ack_message`/`requeue_message`): a message whose connection
  died is redelivered by the broker; acking it on the dead socket raised out of the worker.
- Worker threads (`ServiceContainer._handle_worker_thread_exited`): a worker that still dies of a
  connection error (in a dependency's teardown, say) is logged, not fatal to the container; any
  other error keeps nameko's behaviour (a bug: kill the container).
- The consumer (`QueueConsumer`): kombu already reconnects on connection errors, but waits up to
  30 s between attempts; here at most RECONNECT_MAX_INTERVAL, so a service consumes again within
  seconds of the broker's return. An unexpected error after start restarts the consume loop
  instead of ending the thread (which killed the container).
- Timers (`Timer`): the next tick waits for the previous worker's thread to end, however it ended
  (nameko waited for an event only a completed worker sends: a worker that died early stopped the
  timer for good), and a tick that cannot spawn a worker is skipped.
- Publishers' start (`messaging.Publisher.setup`): declaring the exchange waits for the broker
  instead of failing the start, so a process (re)started during an outage comes up when it returns.
"""
import contextlib
import logging
import time

import eventlet
from amqp.exceptions import AMQPError
from eventlet import Timeout
from kombu.exceptions import KombuError
from nameko import containers, messaging, rpc, timer
from nameko.exceptions import ContainerBeingKilled

from shared.contracts.exceptions import Unavailable
from shared.platform.consumers import is_transient

log = logging.getLogger("deskline.resilience")

# What a lost broker connection raises, depending on where it is noticed.
BROKER_ERRORS = (OSError, AMQPError, KombuError, ConnectionError)
RECONNECT_MAX_INTERVAL = 2.0  # seconds between the consumer's attempts to reach the broker again
SETUP_RETRY_INTERVAL = 1.0

_applied = False


def apply():
    """Patch nameko for this process (idempotent)."""
    global _applied
    if _applied:
        return
    _applied = True
    _patch_responder()
    _patch_acks()
    _patch_worker_exit()
    _patch_queue_consumer()
    _patch_timer()
    _patch_publisher_setup()


# ------------------------------------------------------------------ RPC replies

def _patch_responder():
    send_response = rpc.Responder.send_response

    def send_or_drop(self, result, exc_info):
        if exc_info is not None and is_transient(exc_info[1]):
            # Typed, so the gateway answers 503 (retry) rather than 500; the cause stays in the log.
            error = Unavailable(f"{type(exc_info[1]).__name__}: a store or the broker is unreachable")
            exc_info = (Unavailable, error, exc_info[2])
        try:
            return send_response(self, result, exc_info)
        except Exception as exc:
            log.warning("rpc: reply to %s dropped, it could not be published: %r (the caller times out and retries)",
                        self.message.properties.get("correlation_id"), exc)
            return result, exc_info

    rpc.Responder.send_response = send_or_drop


# ------------------------------------------------------------------ acks and requeues

def _patch_acks():
    ack, requeue = messaging.QueueConsumer.ack_message, messaging.QueueConsumer.requeue_message

    def guarded(settle, what):
        def settle_or_leave(self, message):
            try:
                settle(self, message)
            except BROKER_ERRORS as exc:
                log.info("%s of a message whose connection is gone skipped (the broker redelivers it): %r", what, exc)
        return settle_or_leave

    messaging.QueueConsumer.ack_message = guarded(ack, "ack")
    messaging.QueueConsumer.requeue_message = guarded(requeue, "requeue")


# ------------------------------------------------------------------ worker threads

def _patch_worker_exit():
    handle_exited = containers.ServiceContainer._handle_worker_thread_exited

    def survive_connection_errors(self, gt, worker_ctx):
        try:
            gt.wait()
        except Exception as exc:
            if is_transient(exc):
                self._worker_threads.pop(worker_ctx, None)
                log.error("%s ended with a connection error; the service carries on: %r",
                          worker_ctx, exc, exc_info=True)
                return
        except BaseException:  # GreenletExit: nameko's own handling below
            pass
        handle_exited(self, gt, worker_ctx)

    containers.ServiceContainer._handle_worker_thread_exited = survive_connection_errors


# ------------------------------------------------------------------ the consumer

def _patch_queue_consumer():
    consume_run = messaging.QueueConsumer.run

    def establish_connection(self):
        # kombu's ConsumerMixin.establish_connection, with a short wait between attempts.
        conn = self.create_connection()
        try:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                   interval_start=0.5, interval_step=0.5, interval_max=RECONNECT_MAX_INTERVAL)
            yield conn
        finally:
            conn.release()

    def run(self, *args, **kwargs):
        while True:
            try:
                return consume_run(self, *args, **kwargs)
            except Exception:
                if self.should_stop or not self._consumers_ready.ready():
                    raise  # stopping, or failing to start: nameko's handling
                log.exception("consumer of %s failed; connecting again", self.container.service_name)
                eventlet.sleep(SETUP_RETRY_INTERVAL)

    messaging.QueueConsumer.establish_connection = contextlib.contextmanager(establish_connection)
    messaging.QueueConsumer.run = run


# ------------------------------------------------------------------ timers

def run_tick(timer_entrypoint):
    """One tick of a timer: its worker started and waited for (so ticks never overlap). False when the
    container is being killed (the timer ends); a worker that cannot start skips the tick, logged."""
    try:
        worker_ctx = timer_entrypoint.container.spawn_worker(timer_entrypoint, (), {},
                                                             handle_result=timer_entrypoint.handle_result)
    except ContainerBeingKilled:
        return False
    except Exception:
        log.exception("%s: tick skipped, no worker could be started", timer_entrypoint)
        return True
    gt = timer_entrypoint.container._worker_threads.get(worker_ctx)
    if gt is not None:
        try:
            gt.wait()
        except BaseException:  # the container logs (or acts on) how the worker ended
            pass
    return True


def _patch_timer():
    def _run(self):
        start_time = time.time()
        count = 0 if self.eager else 1
        while True:
            sleep_time = max(start_time + count * self.interval - time.time(), 0)
            count += 1
            with Timeout(sleep_time, exception=False):
                self.should_stop.wait()
                return
            if not run_tick(self):
                return

    def handle_result(self, worker_ctx, result, exc_info):
        return result, exc_info

    timer.Timer._run = _run
    timer.Timer.handle_result = handle_result


# ------------------------------------------------------------------ publishers' start

def _patch_publisher_setup():
    setup = messaging.Publisher.setup

    def setup_when_reachable(self):
        while True:
            try:
                return setup(self)
            except BROKER_ERRORS as exc:
                log.warning("%s: broker unreachable at start (%r); trying again in %.0fs",
                            self.container.service_name, exc, SETUP_RETRY_INTERVAL)
                eventlet.sleep(SETUP_RETRY_INTERVAL)

    messaging.Publisher.setup = setup_when_reachable


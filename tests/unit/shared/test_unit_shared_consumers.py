"""The one consumer error policy (shared/platform/consumers.py), with a fake handler and a parking lot
of our own: malformed -> parked, transient -> wait then re-raise (back to the queue), other -> parked."""
import socket

import pytest
import redis
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.contracts.events import MalformedEvent, make_envelope
from shared.platform.consumers import DEAD_LETTERED, DEFAULT_REQUEUE_DELAY, ConsumerPolicy, is_transient

EVENT = make_envelope("ticket.created", {"ticket": {"ticket_number": "TKT-00001"}})


class Handler:
    """Raises `failure` if given, else returns `result`; remembers what it was given."""

    def __init__(self, failure=None, result="handled"):
        self.failure, self.result, self.seen = failure, result, []

    def __call__(self, payload):
        self.seen.append(payload)
        if self.failure is not None:
            raise self.failure
        return self.result


class Recorder:
    """The policy's park and sleep: what was parked, how long it waited."""

    def __init__(self):
        self.parked, self.slept = [], []

    def policy(self, delay=0.25):
        return ConsumerPolicy("notifier", park=lambda payload, exc: self.parked.append((payload, exc)),
                              requeue_delay=delay, sleep=self.slept.append)


@pytest.fixture
def recorder():
    return Recorder()


def test_success_returns_the_handlers_result_and_parks_nothing(recorder):
    handler = Handler(result={"sent": 1})
    assert recorder.policy().run(handler, EVENT) == {"sent": 1}
    assert handler.seen == [EVENT] and recorder.parked == recorder.slept == []


def test_a_malformed_event_is_parked_at_once(recorder):
    failure = MalformedEvent("not an event envelope")
    assert recorder.policy().run(Handler(failure), EVENT) == DEAD_LETTERED
    assert recorder.parked == [(EVENT, failure)] and recorder.slept == []


TRANSIENT = [
    OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    InterfaceError("SELECT 1", {}, Exception("connection already closed")),
    DisconnectionError("gone"), PoolTimeout("pool exhausted"),
    redis.ConnectionError("Error 111"), redis.TimeoutError("Timeout reading"), redis.BusyLoadingError("loading"),
    ConnectionRefusedError(111, "refused"), ConnectionResetError(), TimeoutError(), socket.timeout(),
]


@pytest.mark.parametrize("failure", TRANSIENT, ids=lambda exc: type(exc).__name__)
def test_a_transient_failure_waits_the_delay_then_goes_back_to_the_queue(recorder, failure):
    with pytest.raises(type(failure)) as raised:
        recorder.policy(delay=0.25).run(Handler(failure), EVENT)
    assert raised.value is failure and recorder.slept == [0.25] and recorder.parked == []


OTHER = [KeyError("ticket"), ValueError("bad data"), TypeError("None is not a dict"), RuntimeError("a bug"),
         redis.ResponseError("WRONGTYPE"), ZeroDivisionError()]


@pytest.mark.parametrize("failure", OTHER, ids=lambda exc: type(exc).__name__)
def test_any_other_failure_is_parked_not_retried(recorder, failure):
    assert recorder.policy().run(Handler(failure), EVENT) == DEAD_LETTERED
    assert recorder.parked == [(EVENT, failure)] and recorder.slept == []


def test_a_payload_that_is_not_even_a_dict_is_parked_whole(recorder):
    assert recorder.policy().run(Handler(MalformedEvent("a string")), "a string") == DEAD_LETTERED
    assert recorder.parked[0][0] == "a string"


def test_a_parking_failure_is_not_hidden(recorder):
    # If the dead-letter queue cannot take it, the handler's error must not be acked away silently.
    def broken_park(payload, exc):
        raise ConnectionRefusedError(111, "broker away")

    policy = ConsumerPolicy("chat", park=broken_park, sleep=recorder.slept.append)
    with pytest.raises(ConnectionRefusedError):
        policy.run(Handler(KeyError("x")), EVENT)


def test_the_transient_test_can_be_given(recorder):
    policy = ConsumerPolicy("chat", park=lambda *args: recorder.parked.append(args), sleep=recorder.slept.append,
                            transient=lambda exc: isinstance(exc, KeyError))
    with pytest.raises(KeyError):
        policy.run(Handler(KeyError("x")), EVENT)
    assert recorder.slept == [DEFAULT_REQUEUE_DELAY]


def test_what_counts_as_transient():
    assert all(is_transient(exc) for exc in TRANSIENT)
    assert not any(is_transient(exc) for exc in OTHER + [MalformedEvent("x")])

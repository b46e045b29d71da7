"""RPC from the gateway without a broker: the pool and lease around a fake standalone proxy, and
every failure of a call translated to ServiceUnavailable (then 503/504) or passed through when typed."""
import socket

import pytest
from amqp.exceptions import ConnectionForced
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RpcTimeout, UnknownService

from services.tracker_gateway.core.errors import ServiceUnavailable
from services.tracker_gateway.core.rpc import Lease, RpcPool, tickets
from shared.contracts.exceptions import NotFound, ValidationError
from shared.platform.observability import CONTEXT_KEY


class FakeStandalone:
    """What a started ClusterRpcProxy offers the lease: `_proxy.<service>.<method>`, its worker context
    (for the correlation id), and `stop()`. `answers[(service, method)]` is a value or an exception."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []
        self.stopped = False
        self._worker_ctx = type("WorkerContext", (), {"data": {}})()
        self._proxy = self

    def __getattr__(self, service):
        fake = self

        class Service:
            def __getattr__(self, method):
                def call(*args, **kwargs):
                    fake.calls.append((service, method, args, kwargs, fake._worker_ctx.data.get(CONTEXT_KEY)))
                    answer = fake.answers[(service, method)]
                    if isinstance(answer, BaseException):
                        raise answer
                    return answer
                # nameko's method proxy publishes through its own publisher, whose retry policy the lease sets.
                call.publisher = type("Publisher", (), {"retry_policy": None})()
                return call
        return Service()

    def stop(self):
        self.stopped = True


class FakeBroker:
    """Hands the pool a new FakeStandalone per connect, or raises `refuse` (the broker away)."""

    def __init__(self, answers=None, refuse=None):
        self.answers = answers if answers is not None else {}
        self.refuse = refuse
        self.made = []

    def connect(self):
        if self.refuse is not None:
            raise self.refuse
        self.made.append(FakeStandalone(self.answers))
        return self.made[-1]


def pool_of(broker, size=2, wait=0.05):
    return RpcPool("amqp://unused", timeout=5.0, size=size, wait=wait, connect=broker.connect)


def test_a_call_returns_the_answer_and_the_proxy_is_reused():
    broker = FakeBroker({("tickets", "get_ticket"): {"ticket_number": "TKT-00001"}})
    pool = pool_of(broker)
    assert pool.call("tickets", "get_ticket", "TKT-00001") == {"ticket_number": "TKT-00001"}
    assert pool.call("tickets", "get_ticket", ref="TKT-00001")["ticket_number"] == "TKT-00001"
    assert len(broker.made) == 1
    (first, second) = broker.made[0].calls
    assert first[:4] == ("tickets", "get_ticket", ("TKT-00001",), {}) and second[3] == {"ref": "TKT-00001"}
    assert first[4] and second[4]  # each call carries a correlation id


def test_one_lease_uses_one_proxy_for_every_call_of_a_request():
    broker = FakeBroker({("tickets", "ping"): "pong", ("chat", "ping"): "pong"})
    lease = Lease(pool_of(broker))
    assert lease.call("tickets", "ping") == lease.call("chat", "ping") == "pong"
    lease.release()
    lease.release()  # releasing twice gives nothing back twice
    assert len(broker.made) == 1 and len(broker.made[0].calls) == 2


TRANSPORT_FAILURES = [socket.error("reset by peer"), ConnectionForced("closed by the broker"),
                      KombuOperationalError("no route"), ConnectionResetError(), RuntimeError("consumer disconnected")]


@pytest.mark.parametrize("failure", TRANSPORT_FAILURES, ids=lambda exc: type(exc).__name__)
def test_a_transport_failure_is_unavailable_and_the_proxy_is_replaced(failure):
    broker = FakeBroker({("tickets", "create_ticket"): failure})
    pool = pool_of(broker)
    with pytest.raises(ServiceUnavailable) as raised:
        pool.call("tickets", "create_ticket", {})
    assert (raised.value.service, raised.value.reason, raised.value.timed_out) == (
        "tickets", "message broker unreachable", False)
    assert broker.made[0].stopped
    broker.answers[("tickets", "create_ticket")] = {"id": 1}
    assert pool.call("tickets", "create_ticket", {}) == {"id": 1} and len(broker.made) == 2


def test_a_timeout_may_have_run_and_the_proxy_is_replaced():
    # Its late reply would land in this proxy's reply buffer: the proxy goes.
    broker = FakeBroker({("tickets", "create_ticket"): RpcTimeout()})
    pool = pool_of(broker)
    with pytest.raises(ServiceUnavailable) as raised:
        pool.call("tickets", "create_ticket", {})
    assert raised.value.timed_out and raised.value.reason == "no answer within 5s"
    assert broker.made[0].stopped


def test_an_unknown_service_is_unavailable_and_the_proxy_kept():
    broker = FakeBroker({("chat", "ping"): UnknownService("chat")})
    pool = pool_of(broker)
    with pytest.raises(ServiceUnavailable) as raised:
        pool.call("chat", "ping")
    assert (raised.value.service, raised.value.reason, raised.value.timed_out) == ("chat", "service not running", False)
    assert not broker.made[0].stopped and pool._idle == broker.made


@pytest.mark.parametrize("typed", [NotFound("TKT-00009"), ValidationError({"title": ["Too long."]})],
                         ids=lambda exc: type(exc).__name__)
def test_typed_remote_errors_pass_through_and_the_proxy_is_kept(typed):
    broker = FakeBroker({("tickets", "get_ticket"): typed})
    pool = pool_of(broker)
    with pytest.raises(type(typed)) as raised:
        pool.call("tickets", "get_ticket", "TKT-00009")
    assert raised.value is typed and not broker.made[0].stopped


@pytest.mark.parametrize("refusal", [ConnectionRefusedError(111, "refused"), socket.timeout("timed out"),
                                     OSError(101, "Network is unreachable")], ids=lambda exc: type(exc).__name__)
def test_no_broker_is_unavailable_and_gives_the_slot_back(refusal):
    broker = FakeBroker(refuse=refusal)
    pool = pool_of(broker, size=1)
    for _ in range(3):  # a slot lost per failure would make the third wait, then say "busy"
        with pytest.raises(ServiceUnavailable) as raised:
            pool.checkout()
        assert (raised.value.service, raised.value.reason) == ("broker", "message broker unreachable")


def test_a_saturated_pool_answers_busy_after_its_wait_then_recovers():
    broker = FakeBroker()
    pool = pool_of(broker, size=1, wait=0.01)
    held = pool.checkout()
    with pytest.raises(ServiceUnavailable) as raised:
        pool.checkout()
    assert (raised.value.service, raised.value.reason) == ("gateway", "all RPC proxies busy")
    pool.checkin(held)
    assert pool.checkout() is held


def test_the_wait_is_at_most_the_call_timeout():
    assert RpcPool("amqp://unused", timeout=0.3, size=1).wait == 0.3
    assert RpcPool("amqp://unused", timeout=5.0, size=1).wait == RpcPool.DEFAULT_WAIT


def test_close_stops_the_idle_proxies():
    broker = FakeBroker({("tickets", "ping"): "pong"})
    pool = pool_of(broker)
    pool.call("tickets", "ping")
    pool.close()
    assert broker.made[0].stopped and pool._idle == []


@pytest.fixture
def app_with(offline_app):
    """The gateway app with a fake broker behind its RPC pool, and a route that calls tickets."""
    def use(broker):
        offline_app.extensions["rpc_pool"] = pool_of(broker)
        offline_app.add_url_rule("/api/test/ticket", "test_ticket", lambda: tickets().get_ticket("TKT-00001"),
                                 methods=["GET", "POST"])
        return offline_app.test_client()
    return use


def test_through_a_request_the_lease_is_returned_when_it_ends(app_with):
    broker = FakeBroker({("tickets", "get_ticket"): {"ticket_number": "TKT-00001"}})
    client = app_with(broker)
    for _ in range(3):
        assert client.get("/api/test/ticket").get_json() == {"ticket_number": "TKT-00001"}
    assert len(broker.made) == 1  # handed back at teardown, picked up by the next request


@pytest.mark.parametrize("failure, method, status", [
    (RpcTimeout(), "GET", 503), (RpcTimeout(), "POST", 504), (UnknownService("tickets"), "POST", 503),
    (ConnectionForced("closed"), "POST", 503), (NotFound("TKT-00001"), "GET", 404),
])
def test_through_a_request_failures_become_their_status(app_with, failure, method, status):
    client = app_with(FakeBroker({("tickets", "get_ticket"): failure}))
    assert client.open("/api/test/ticket", method=method).status_code == status

"""Filling the tracker's read model for tickets that existed before the projector listened."""
from services.tracker_gateway.projector.service import TrackerProjector
from shared.testing import dead_letters, wait_for

API = "/api/entities/ticket"
EMAIL = "early@example.com"


def test_a_new_projector_backfills_earlier_tickets_with_their_history(
        http, tenants, auth_headers, tickets_service, container_factory, projector_config, test_redis, redis_prefix):
    acme, globex = (auth_headers(tenant) for tenant in tenants)
    # Made while no projector ran: their events reached no queue of its.
    first = http.post(API, json={"title": "Early", "description": "d", "customer_email": EMAIL}, headers=acme).get_json()
    http.patch(f"{API}/{first['id']}", json={"status": "closed"}, headers=acme)
    http.post(API, json={"title": "Other tenant", "description": "d", "customer_email": EMAIL}, headers=globex)
    gone = http.post(API, json={"title": "Gone", "description": "d", "customer_email": EMAIL}, headers=acme).get_json()
    http.delete(f"{API}/{gone['id']}", headers=acme)
    track = lambda number: http.get("/api/public/track", query_string={"ticket": number, "email": EMAIL})  # noqa: E731
    assert track("TKT-00001").status_code == 404

    projector = container_factory(TrackerProjector, projector_config)
    projector.start()

    wait_for(lambda: test_redis.get(f"{redis_prefix}trk:meta:backfilled:v2"), timeout=15, message="the backfill")
    # Each client numbers its own: acme's and globex's first tickets are both TKT-00001 (the same address).
    matches = {match["title"]: match for match in track("TKT-00001").get_json()["matches"]}
    assert set(matches) == {"Early", "Other tenant"}
    assert matches["Early"]["status"] == "closed" and matches["Early"]["closed_at"]
    assert [entry["text"] for entry in matches["Early"]["timeline"]] == ["Ticket created", "Ticket closed"]
    assert track("TKT-00002").status_code == 404  # acme's deleted one
    # Events flow as usual afterwards.
    http.patch(f"{API}/{first['id']}", json={"status": "open"}, headers=acme)
    wait_for(lambda: {m["title"]: m["status"] for m in track("TKT-00001").get_json()["matches"]}["Early"] == "open",
             timeout=10, message="the reopening")
    projector.kill()  # before this test's Redis keys are removed


def test_an_event_outlasting_the_redis_retries_goes_back_to_the_queue(
        http, tenants, auth_headers, tickets_service, container_factory, projector_config, test_redis, redis_prefix,
        monkeypatch):
    """Past its in-handler retries the handler raises: the event must be requeued, not acked away."""
    import redis

    from services.tracker_gateway.projector.read_model import TrackerView

    calls, outage = [], {"on": True}
    apply_event = TrackerView.apply_event

    def flaky(view, envelope):
        calls.append(envelope["event_id"])
        if outage["on"]:
            raise redis.ConnectionError("Redis is away (test)")
        return apply_event(view, envelope)

    monkeypatch.setattr(TrackerView, "apply_event", flaky)
    projector = container_factory(
        TrackerProjector, {**projector_config, "CONSUMER_REQUEUE_DELAY": 0.05})
    projector.start()
    try:
        wait_for(lambda: test_redis.get(f"{redis_prefix}trk:meta:backfilled:v2"), timeout=15, message="the backfill")
        http.post(API, json={"title": "During the outage", "description": "d", "customer_email": EMAIL},
                  headers=auth_headers(tenants[0]))
        # Back-off 0.1 s then 0.2 s against a 0.2 s bound: at most 3 tries per delivery, so a 4th is a redelivery.
        wait_for(lambda: len(calls) >= 4, timeout=10, message="the event handed back and redelivered")
        outage["on"] = False
        track = lambda: http.get("/api/public/track", query_string={"ticket": "TKT-00001", "email": EMAIL})  # noqa: E731
        wait_for(lambda: track().status_code == 200, timeout=10, message="the event applied once Redis is back")
    finally:
        projector.kill()


def test_an_event_it_cannot_project_goes_to_the_dead_letter_queue_not_round_and_round(
        http, tenants, auth_headers, tickets_service, container_factory, projector_config, test_redis, redis_prefix,
        amqp_uri, monkeypatch):
    from services.tracker_gateway.projector.read_model import TrackerView

    calls = []

    def broken(view, envelope):
        calls.append(envelope["event_id"])
        raise KeyError("a field this code does not expect")

    monkeypatch.setattr(TrackerView, "apply_event", broken)
    projector = container_factory(TrackerProjector, projector_config)
    projector.start()
    try:
        wait_for(lambda: test_redis.get(f"{redis_prefix}trk:meta:backfilled:v2"), timeout=15, message="the backfill")
        http.post(API, json={"title": "Unprojectable", "description": "d", "customer_email": EMAIL},
                  headers=auth_headers(tenants[0]))
        (letter,) = wait_for(lambda: dead_letters(amqp_uri), timeout=10, message="the event in the dead-letter queue")
    finally:
        projector.kill()
    assert letter["service"] == "tracker_projector" and "KeyError" in letter["error"]
    assert letter["payload"]["data"]["ticket"]["title"] == "Unprojectable"
    assert len(calls) == 1  # handled once, not redelivered

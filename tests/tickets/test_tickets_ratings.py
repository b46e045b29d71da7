"""CSAT in the tickets service (services/tickets/ratings.py) against its real database: a rating is
recorded with its event and history line, a changed mind replaces it, the same rating sent twice counts
once, a link of an earlier resolution round is refused, a reopened and resolved ticket is rated again;
and the customer's phone number (E.164) on create and update."""
import pytest
import sqlalchemy as sa

from services.tickets import operations, ratings
from services.tickets.models import OutboxEvent, TicketRating
from shared.contracts.exceptions import Conflict, NotFound, ValidationError


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def new_ticket(session, **overrides):
    data = {"title": "Printer", "description": "Jammed.", "client_id": "acme", "customer_email": "kira@example.com",
            **overrides}
    ticket, _ = operations.create_ticket(session, data)
    session.commit()
    return ticket


def set_status(session, ticket, status):
    result, _, _ = operations.update_ticket(session, ticket["id"], {"status": status}, actor="agent@acme.test")
    session.commit()
    return result


def rate(session, ticket, rating, round_=1, comment=None):
    result, event = ratings.rate(session, {"ticket_id": ticket["id"], "round": round_, "rating": rating,
                                           "comment": comment})
    session.commit()
    return result, event


def rated_events(session):
    return session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "ticket.rated")
                           .order_by(OutboxEvent.id)).all()


def test_resolving_counts_rounds_and_a_rating_is_recorded_with_event_and_history(session):
    ticket = new_ticket(session)
    assert ticket["resolution_round"] == 0
    ticket = set_status(session, ticket, "resolved")
    assert ticket["resolution_round"] == 1
    result, event = rate(session, ticket, "good")
    assert result["rating"] == "good" and result["rated_at"] is not None
    data = event.payload["data"]
    assert data["rating"] == "good" and data["client_id"] == "acme" and data["comment"] is None
    assert data["ticket"]["rating"] == "good" and data["ticket"]["ticket_number"] == ticket["ticket_number"]
    history = operations.get_history(session, ticket["id"])
    assert [(h["action"], h["field"], h["old_value"], h["new_value"]) for h in history][-1] == (
        "rated", "rating", None, "good")


def test_a_second_click_changes_the_rating_and_both_are_kept(session):
    ticket = set_status(session, new_ticket(session), "resolved")
    rate(session, ticket, "good")
    result, event = rate(session, ticket, "bad", comment="Slow")
    assert result["rating"] == "bad" and event.payload["data"]["comment"] == "Slow"
    rows = session.scalars(sa.select(TicketRating).order_by(TicketRating.id)).all()
    assert [(row.rating, row.comment) for row in rows] == [("good", None), ("bad", "Slow")]
    assert ratings.rating_state(session, ticket["id"], 1)["rating"] == "bad"


def test_the_same_rating_twice_counts_once_and_a_comment_joins_it(session):
    ticket = set_status(session, new_ticket(session), "resolved")
    rate(session, ticket, "okay")
    _, again = rate(session, ticket, "okay")
    assert again is None
    _, with_comment = rate(session, ticket, "okay", comment="Fine in the end")
    assert with_comment.payload["data"]["comment"] == "Fine in the end"
    rows = session.scalars(sa.select(TicketRating)).all()
    assert [(row.rating, row.comment) for row in rows] == [("okay", "Fine in the end")]
    assert len(rated_events(session)) == 2
    assert ratings.rating_state(session, ticket["id"], 1)["comment"] == "Fine in the end"


def test_reopened_refuses_the_old_link_and_resolved_again_is_rated_again(session):
    ticket = set_status(session, new_ticket(session), "resolved")
    rate(session, ticket, "bad")
    reopened = set_status(session, ticket, "open")
    assert reopened["resolution_round"] == 1 and reopened["rating"] == "bad"
    with pytest.raises(Conflict):
        rate(session, ticket, "good", round_=1)
    session.rollback()
    again = set_status(session, ticket, "resolved")
    assert again["resolution_round"] == 2
    with pytest.raises(Conflict):  # the first e-mail's link: an earlier round
        rate(session, ticket, "good", round_=1)
    session.rollback()
    assert ratings.rating_state(session, ticket["id"], 2)["rating"] is None
    result, _ = rate(session, ticket, "good", round_=2)
    assert result["rating"] == "good"  # the latest counts
    closed = set_status(session, ticket, "closed")  # resolved -> closed is the same resolution
    assert closed["resolution_round"] == 2


def test_bad_input_and_unknown_or_deleted_tickets_are_refused(session):
    ticket = set_status(session, new_ticket(session), "resolved")
    for data, field in (({"rating": "great"}, "rating"), ({"round": 0}, "round"), ({"ticket_id": "x"}, "ticket_id"),
                        ({"comment": "x" * 2001}, "comment")):
        with pytest.raises(ValidationError) as error:
            ratings.rate(session, {"ticket_id": ticket["id"], "round": 1, "rating": "good", **data})
        assert field in error.value.errors
    with pytest.raises(NotFound):
        ratings.rate(session, {"ticket_id": "6f1c1a9e-8c1b-4d57-9d3e-0c2d2b9b0a11", "round": 1, "rating": "good"})
    with pytest.raises(Conflict):  # never resolved
        ratings.rate(session, {"ticket_id": new_ticket(session)["id"], "round": 1, "rating": "good"})
    session.rollback()
    operations.delete_ticket(session, ticket["id"])
    session.commit()
    with pytest.raises(NotFound):
        ratings.rating_state(session, ticket["id"], 1)
    assert session.scalars(sa.select(TicketRating)).all() == []


def test_customer_phone_is_e164_on_create_and_update(session):
    ticket = new_ticket(session, customer_phone=" +14155550123 ")
    assert ticket["customer_phone"] == "+14155550123"
    assert new_ticket(session, customer_phone="")["customer_phone"] is None
    for bad in ("4155550123", "+0123456789", "+1 415 555 0123", "+1234", "+1234567890123456", "tel:+14155550123"):
        with pytest.raises(ValidationError) as error:
            operations.create_ticket(session, {"title": "t", "description": "d", "client_id": "acme",
                                               "customer_phone": bad})
        assert "customer_phone" in error.value.errors
    updated, diff, _ = operations.update_ticket(session, ticket["id"], {"customer_phone": "+447700900123"})
    assert updated["customer_phone"] == "+447700900123" and diff["customer_phone"]["to"] == "+447700900123"

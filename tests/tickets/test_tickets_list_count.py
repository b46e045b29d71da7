"""The list's total: exact up to EXACT_COUNT_MAX matches, PostgreSQL's estimate above (flagged), and the
tickets dumped by the plain dumper exactly as the contract's marshmallow schema dumps them."""
import sqlalchemy as sa

from services.tickets import operations, schemas
from services.tickets.models import Ticket
from services.tickets.operations import EXACT_COUNT_MAX

FILLER = 300  # tickets of another status, so that a filter's count differs from the table's


def _seed(session, client_id, count, status="open"):
    """`count` tickets made by the service (numbered, with history), then statistics for the planner."""
    for n in range(count):
        operations.create_ticket(session, {"title": f"T{n}", "description": "d", "client_id": client_id,
                                           "status": status, "customer_email": f"c{n}@example.com"})
    session.commit()


def test_a_small_result_is_counted_exactly(session_factory):
    with session_factory() as session:
        _seed(session, "acme", 25)
        _seed(session, "acme", 5, status="pending")
        page = operations.list_tickets(session, {"client_id": "acme", "status": "open", "per_page": 10})
    assert (page["total"], page["total_exact"], len(page["items"])) == (25, True, 10)


def test_exactly_the_limit_is_still_exact_and_one_more_is_an_estimate(session_factory, tickets_engine):
    with session_factory() as session:
        _seed(session, "acme", EXACT_COUNT_MAX)
        page = operations.list_tickets(session, {"client_id": "acme", "status": "open"})
        assert (page["total"], page["total_exact"]) == (EXACT_COUNT_MAX, True)
        _seed(session, "acme", FILLER)
        _seed(session, "acme", 50, status="pending")
    with tickets_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE tickets"))
    with session_factory() as session:
        page = operations.list_tickets(session, {"client_id": "acme", "status": "open", "per_page": 20})
        pending = operations.list_tickets(session, {"client_id": "acme", "status": "pending"})
    assert page["total_exact"] is False
    real = EXACT_COUNT_MAX + FILLER
    # The planner's estimate from fresh statistics: near the real count, never at or below the limit.
    assert EXACT_COUNT_MAX < page["total"] and abs(page["total"] - real) <= real * 0.2
    assert [item["ticket_number"] for item in page["items"]][:1] == [f"TKT-{real:05d}"]  # newest first
    assert (pending["total"], pending["total_exact"]) == (50, True)


def test_the_plain_dumper_writes_what_the_schema_writes(session_factory):
    with session_factory() as session:
        _seed(session, "acme", 3)
        first = session.scalars(sa.select(Ticket).order_by(Ticket.number)).first()
        operations.update_ticket(session, first.ticket_number, {"status": "resolved", "assigned_to": "a@x.io",
                                                                "resolution_notes": "Fixed."}, actor="a@x.io")
        session.commit()
        tickets = session.scalars(sa.select(Ticket)).all()
        old_style = [schemas.TICKET.dump(ticket) for ticket in tickets]
        assert [schemas.dump_ticket(ticket) for ticket in tickets] == old_style
    assert any(dumped["resolved_at"] for dumped in old_style) and all(dumped["sla"] is not None for dumped in old_style)

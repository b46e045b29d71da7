"""Ticket search: full-text over number, customer, title and description; number prefixes."""
import pytest
import sqlalchemy as sa
from test_tickets_operations import create  # tests/tickets is on sys.path (rootdir import mode)

from services.tickets import operations
from services.tickets.models import TicketCounter


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def numbered(session, number, **overrides):
    """A ticket with this number (its client's counter moved to just before it)."""
    client_id = overrides.get("client_id", "acme")
    session.execute(sa.delete(TicketCounter).where(TicketCounter.client_id == client_id))
    session.add(TicketCounter(client_id=client_id, value=number - 1))
    session.flush()
    return create(session, **overrides)


def found(session, q, **filters):
    page = operations.list_tickets(session, {"client_id": "acme", "q": q, **filters})
    assert page["total"] == len(page["items"])
    return [item["ticket_number"] for item in page["items"]]


@pytest.fixture
def texts(session):
    create(session, title="Refund request for duplicate order", description="Charged twice for order 991.")
    create(session, title="Order never arrived", description="A duplicate of nothing; no refund yet.",
           customer_name="Olga Duplicate", customer_email="olga@shop.example")
    create(session, title="Password reset", description="Cannot log in.", customer_name="Zed Zulu",
           customer_email="zed@zulu.io")
    create(session, client_id="globex", title="Refund request for duplicate order")


@pytest.mark.parametrize(
    "q, expected",
    [
        ("refund duplicate", ["TKT-00002", "TKT-00001"]),  # words in any order, anywhere
        ("duplicate refund", ["TKT-00002", "TKT-00001"]),
        ("refunds duplicated", ["TKT-00002", "TKT-00001"]),  # stemmed
        ('"duplicate order"', ["TKT-00001"]),  # a quoted phrase still means the phrase
        ('"order duplicate"', []),
        ("refund -arrived", ["TKT-00001"]),
        ("arrived or password", ["TKT-00003", "TKT-00002"]),
        ("zulu", ["TKT-00003"]),  # customer name
        ("zulu.io", ["TKT-00003"]),  # the e-mail's domain
        ("zed@zulu.io", ["TKT-00003"]),
        ("olga", ["TKT-00002"]),  # the e-mail's name
        ("991", ["TKT-00001"]),
        ("the", []),  # only stop words: nothing, rather than everything
        ("\"unclosed", []),
    ],
)
def test_words_in_any_order_phrases_and_customer_fields(session, texts, q, expected):
    assert found(session, q, sort="-created_at") == expected


def test_without_a_chosen_order_the_best_match_comes_first(session, texts):
    # "duplicate" is the customer's name on TKT-00002 (weight A) and only in TKT-00001's title (B).
    assert found(session, "duplicate") == ["TKT-00002", "TKT-00001"]
    assert found(session, "duplicate", sort="created_at") == ["TKT-00001", "TKT-00002"]
    # Title (B) outranks description (C).
    create(session, title="Blue widget", description="none")
    create(session, title="Something else", description="It was a blue widget")
    assert found(session, "blue widget") == ["TKT-00004", "TKT-00005"]  # (globex numbers its own)


@pytest.mark.parametrize(
    "q, expected",
    [
        ("12", ["TKT-12000", "TKT-01234", "TKT-00120", "TKT-00012"]),
        ("TKT-12", ["TKT-12000", "TKT-01234", "TKT-00120", "TKT-00012"]),
        ("tkt 12", ["TKT-12000", "TKT-01234", "TKT-00120", "TKT-00012"]),
        ("tkt12", ["TKT-12000", "TKT-01234", "TKT-00120", "TKT-00012"]),
        ("TKT-00012", ["TKT-00012"]),
        ("00012", ["TKT-00012"]),
        ("TKT-0001", ["TKT-00012"]),  # the padded form typed so far: TKT-00010 to TKT-00019
        ("tkt-0012", ["TKT-00120"]),
        ("123", ["TKT-01234"]),
        ("7", []),
    ],
)
def test_ticket_numbers_match_by_prefix(session, q, expected):
    for number in (1, 12, 120, 1234, 12000):
        numbered(session, number)
    assert found(session, q, sort="-ticket_number") == expected


def test_a_number_in_the_text_matches_too(session):
    numbered(session, 5, title="Error 12 on checkout")
    numbered(session, 12)
    assert found(session, "12", sort="ticket_number") == ["TKT-00005", "TKT-00012"]


def test_search_uses_the_gin_index(session, texts):
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        row[0] for row in session.execute(
            sa.text(
                "EXPLAIN SELECT id FROM tickets WHERE search_vector @@ websearch_to_tsquery('english', :q)"
            ),
            {"q": "refund duplicate"},
        )
    )
    assert "ix_tickets_search" in plan

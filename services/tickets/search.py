"""Free-text search over a client's tickets: PostgreSQL full-text search plus ticket-number prefixes.

The query is read with `websearch_to_tsquery`, so words match in any order and stemmed
("refund duplicate" finds "Refund request for duplicate order"), a quoted phrase must appear as
written, `or` and `-word` work as on a web search engine. The document is the generated column
`tickets.search_vector` (migration 0003), weighted: ticket number and customer name and e-mail
A, title B, description C; a GIN index serves it. A query that reads as a ticket number (`12`,
`TKT-12`, `tkt 00012`) also matches the numbers that start with it, as the agent is typing.
"""
import re

import sqlalchemy as sa

from shared.contracts.ticket_numbers import PREFIX, format_ticket_number

from .models import Ticket

CONFIG = "english"
# The digits shown after TKT-: numbers below 10**WIDTH are zero-padded to it.
WIDTH = len(format_ticket_number(0)) - len(PREFIX)
_NUMBER = re.compile(r"^\s*(?:TKT[-\s]?)?(\d{1,12})\s*$", re.IGNORECASE)


def _query(text):
    return sa.func.websearch_to_tsquery(sa.literal_column(f"'{CONFIG}'::regconfig"), text)


def number_prefix(text):
    """The condition for a query that reads as a ticket number, or None.

    Typed without leading zeros (`12`, `TKT-12`): numbers whose digits start so (12, 120-129,
    1200-...). Typed with them (`00012`, `TKT-0001`): the padded display form starts so, which is
    a range of numbers (`TKT-0001` is 10-19), served by the number's unique index.
    """
    match = _NUMBER.match(text)
    if match is None:
        return None
    digits = match.group(1)
    if not digits.startswith("0"):
        return sa.cast(Ticket.number, sa.Text).startswith(digits, autoescape=True)
    if len(digits) >= WIDTH:
        return Ticket.number == int(digits)
    scale = 10 ** (WIDTH - len(digits))
    low = int(digits) * scale
    return sa.and_(Ticket.number >= low, Ticket.number < low + scale)


def matches(text):
    """The WHERE condition for a search query."""
    condition = Ticket.search_vector.op("@@")(_query(text))
    by_number = number_prefix(text)
    return condition if by_number is None else sa.or_(by_number, condition)


def relevance(text):
    """Best matches first: weights A (number, customer) > B (title) > C (description)."""
    return sa.func.ts_rank(Ticket.search_vector, _query(text))

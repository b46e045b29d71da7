"""Ticket numbers per client: each client's own gapless sequence, in commit order, across instances;
creates of different clients never wait on each other; migration 0006 keeps the numbers there were.

The instances test starts two tickets-service processes and never stops RabbitMQ (unlike
test_tickets_instances.py's outage test)."""
import subprocess

import eventlet
import pytest
import sqlalchemy as sa
from alembic import command

from services.tickets import operations
from services.tickets.config import MIGRATIONS_DIR
from services.tickets.models import Ticket, TicketCounter
from shared.contracts.exceptions import NotFound, ValidationError
from shared.platform.migrations import alembic_config
from shared.testing import EventCollector, ServiceProcess, fresh_database, rpc_proxy, wait_for
from shared.testing import test_database_url as database_url  # (not collected as a test)

CLIENTS = ("acme", "globex")
PER_CLIENT = 500


def new(client_id, **overrides):
    return {"title": "Disk full", "description": "again", "client_id": client_id, "customer_email": "c@x.io",
            **overrides}


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def test_each_client_starts_at_one_and_a_number_finds_a_ticket_only_within_its_client(session):
    numbers = []
    for client in ("acme", "globex", "acme", "globex", "globex"):
        ticket, _ = operations.create_ticket(session, new(client))
        session.commit()
        numbers.append((client, ticket["ticket_number"]))
    assert numbers == [("acme", "TKT-00001"), ("globex", "TKT-00001"), ("acme", "TKT-00002"),
                       ("globex", "TKT-00002"), ("globex", "TKT-00003")]
    assert operations.get_ticket(session, "TKT-00003", client_id="globex").client_id == "globex"
    acme_first = operations.get_ticket(session, "TKT-00001", client_id="acme")
    assert acme_first.client_id == "acme" != operations.get_ticket(session, "TKT-00001", client_id="globex").client_id
    # Another client's number; a number two clients have, asked without a client: never a guess.
    for ref, client in (("TKT-00003", "acme"), ("TKT-00001", None), ("TKT-00002", None)):
        with pytest.raises(NotFound):
            operations.get_ticket(session, ref, client_id=client)
    assert operations.get_ticket(session, str(acme_first.id)).id == acme_first.id  # an id needs no client


def test_invalid_input_and_a_rollback_take_no_number(session):
    with pytest.raises(ValidationError):
        operations.create_ticket(session, new("acme", title=""))
    operations.create_ticket(session, new("acme"))
    session.rollback()  # the number goes back with the transaction
    ticket, _ = operations.create_ticket(session, new("acme"))
    session.commit()
    assert ticket["ticket_number"] == "TKT-00001"
    assert session.scalars(sa.select(TicketCounter)).one().value == 1


def test_a_create_waits_only_for_its_own_clients_open_create(session_factory, tickets_rpc):
    holder = session_factory()
    try:
        operations.create_ticket(holder, new("acme"))  # acme's counter row stays locked until commit
        other = tickets_rpc.create_ticket(new("globex"))  # answers at once: another row
        assert other["ticket_number"] == "TKT-00001"
        waiting = eventlet.spawn(tickets_rpc.create_ticket, new("acme"))
        eventlet.sleep(0.5)  # a window for the create to (wrongly) finish; it must still be waiting
        assert not waiting.dead
        holder.commit()
        assert waiting.wait()["ticket_number"] == "TKT-00002"
    finally:
        holder.close()


def rpc_consumers(amqp_uri, queue="rpc-tickets"):
    """Consumers on a queue right now (the management API's figures lag by seconds)."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", amqp_uri.rsplit("/", 1)[1], "name", "consumers", "--no-table-headers"],
        check=True, capture_output=True, text=True, timeout=120).stdout
    return dict(line.split("\t") for line in listing.splitlines()).get(queue)


@pytest.mark.slow
def test_two_instances_number_500_interleaved_creates_per_client_gapless_in_commit_order(amqp_uri, tickets_db, tickets_engine):
    instances = [ServiceProcess("tickets", {"TICKETS_DATABASE_URL": tickets_db}, amqp_uri) for _ in range(2)]
    collector = EventCollector(amqp_uri, "tickets", routing_key="ticket.created").connect()
    try:
        for instance in instances:
            instance.start()
        wait_for(lambda: rpc_consumers(amqp_uri) == "2", timeout=30, interval=0.3, message="two consumers")

        jobs = []
        for index in range(PER_CLIENT):
            jobs += [new(client) for client in CLIENTS]  # interleaved: acme, globex, acme, globex...
            if index % 25 == 0:
                jobs.append(new(CLIENTS[index % 2], title=""))  # invalid: must take no number
        queue = eventlet.queue.Queue()
        for job in jobs:
            queue.put(job)
        created = {client: 0 for client in CLIENTS}

        def caller():
            with rpc_proxy(amqp_uri, timeout=60) as rpc:
                while not queue.empty():
                    job = queue.get()
                    try:
                        rpc.tickets.create_ticket(job)
                        created[job["client_id"]] += 1
                    except Exception as exc:  # only the invalid ones, as validation errors
                        assert type(exc).__name__ == "ValidationError" and job["title"] == "", exc

        pool = eventlet.GreenPool(16)
        for _ in range(16):
            pool.spawn(caller)
        pool.waitall()
        assert created == {client: PER_CLIENT for client in CLIENTS}

        expected = [f"TKT-{n:05d}" for n in range(1, PER_CLIENT + 1)]
        with tickets_engine.connect() as conn:
            for client in CLIENTS:
                # Commit order: created_at is read under the client's counter lock, so it orders the commits.
                numbers = conn.execute(sa.select(Ticket.number, Ticket.ticket_number).where(Ticket.client_id == client)
                                       .order_by(Ticket.created_at, Ticket.number)).all()
                assert [number for number, _ in numbers] == list(range(1, PER_CLIENT + 1)), client
                assert [text for _, text in numbers] == expected
            counters = dict(conn.execute(sa.select(TicketCounter.client_id, TicketCounter.value)).all())
        assert counters == {client: PER_CLIENT for client in CLIENTS}

        collector.wait_for(lambda got: len(got) >= 2 * PER_CLIENT, timeout=60, message="created events")
        assert len({event["event_id"] for event in collector.events}) == 2 * PER_CLIENT
        published = {(e["data"]["ticket"]["client_id"], e["data"]["ticket"]["ticket_number"]) for e in collector.events}
        assert published == {(client, number) for client in CLIENTS for number in expected}
    finally:
        collector.disconnect()
        for instance in instances:
            instance.stop()


def test_migration_keeps_existing_numbers_and_continues_each_client_above_its_highest():
    url = database_url("deskline_tickets_numbering_migration")
    fresh_database(url, MIGRATIONS_DIR)
    config = alembic_config(MIGRATIONS_DIR, url)
    command.downgrade(config, "0005_sla")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            # One global sequence before: acme 1, 3, 4 (deleted), globex 2.
            for number, client, deleted in ((1, "acme", False), (2, "globex", False), (3, "acme", False), (4, "acme", True)):
                conn.execute(sa.text(
                    "INSERT INTO tickets (id, number, ticket_number, client_id, title, description, status, priority,"
                    " category, created_at, updated_at, reply_token, deleted_at) VALUES (gen_random_uuid(), :n, :tn,"
                    " :c, 't', 'd', 'open', 'medium', 'general', now(), now(), substr(md5(random()::text), 1, 24),"
                    " CASE WHEN :deleted THEN now() END)"),
                    {"n": number, "tn": f"TKT-{number:05d}", "c": client, "deleted": deleted})
            conn.execute(sa.text("UPDATE counters SET value = 4"))
        command.upgrade(config, "head")
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT client_id, ticket_number FROM tickets ORDER BY number")).all()
            counters = dict(conn.execute(sa.text("SELECT client_id, value FROM ticket_counters")).all())
        assert kept == [("acme", "TKT-00001"), ("globex", "TKT-00002"), ("acme", "TKT-00003"), ("acme", "TKT-00004")]
        assert counters == {"acme": 4, "globex": 2}  # a deleted ticket's number stays taken
        with sa.orm.Session(engine) as session:
            numbers = []
            for client in ("acme", "globex", "initech"):
                numbers.append(operations.create_ticket(session, new(client))[0]["ticket_number"])
                session.commit()
        assert numbers == ["TKT-00005", "TKT-00003", "TKT-00001"]
        with pytest.raises(sa.exc.IntegrityError):  # unique within a client
            with engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO tickets (id, number, ticket_number, client_id, title, description, status, priority,"
                    " category, created_at, updated_at, reply_token) VALUES (gen_random_uuid(), 1, 'TKT-00001', 'acme',"
                    " 't', 'd', 'open', 'medium', 'general', now(), now(), substr(md5(random()::text), 1, 24))"))
        # Down again only while no two clients share a number: delete the newcomers, then down and up.
        with engine.begin() as conn:
            newcomers = ("client_id = 'initech' OR number = 5 OR (client_id = 'globex' AND number = 3)")
            conn.execute(sa.text(f"DELETE FROM ticket_changes WHERE ticket_id IN (SELECT id FROM tickets WHERE {newcomers})"))
            conn.execute(sa.text(f"DELETE FROM tickets WHERE {newcomers}"))
        command.downgrade(config, "0005_sla")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT value FROM counters")).scalar_one() == 4
        command.upgrade(config, "head")
    finally:
        engine.dispose()

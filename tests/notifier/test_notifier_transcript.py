"""Issue 11, point 5: a chat its customer left before any agent answered gets them its transcript by
e-mail, with a way back (a new chat on the page they came from), exactly once however often
chat.conversation_missed is delivered (the delivery log's key: event id and kind)."""
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher

from services.chat.models import OutboxEvent
from services.notifier.models import Delivery
from shared.contracts.enums import CHAT_CONVERSATION_MISSED
from shared.contracts.events import make_envelope
from shared.testing import wait_for

PAGE = "http://127.0.0.1:8000/chat/acme"
KIRA = {"client_id": "acme", "customer_name": "Kira", "customer_email": "kira@example.com", "page_url": PAGE}


def test_a_missed_chat_emails_its_transcript_once_with_a_way_back(
        chat_rpc, notifier_service, smtp_sink, chat_sessions, notifier_sessions, amqp_uri):
    started = chat_rpc.start_conversation({**KIRA, "message": "Is anyone there? <b>hello</b>"})
    chat_rpc.post_message_by_token(started["token"], "My order 7 never came")
    chat_rpc.close_conversation_by_token(started["token"])

    received = smtp_sink.wait_for_count(1)[0]
    assert received.rcpt_tos == ["kira@example.com"]
    assert received.subject == "Your chat with Deskline Support: we missed you"
    text, html = received.part("plain"), received.part("html")
    assert "Is anyone there? <b>hello</b>" in text and "My order 7 never came" in text
    assert f"Start a new chat with us: {PAGE}" in text
    assert "&lt;b&gt;hello&lt;/b&gt;" in html and "<b>hello</b>" not in html  # escaped in HTML
    assert f'href="{PAGE}"' in html

    # The same event again (a relay re-publish, a redelivery): recorded once, sent once.
    with chat_sessions() as session:
        envelope = session.scalars(
            sa.select(OutboxEvent.payload).where(OutboxEvent.event_type == CHAT_CONVERSATION_MISSED)).one()
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    dispatch("chat", CHAT_CONVERSATION_MISSED, envelope)
    # Then another missed chat: once its e-mail is out, the duplicate before it was handled too.
    other = {**envelope["data"], "conversation": {**envelope["data"]["conversation"], "customer_email": "lena@example.com"}}
    dispatch("chat", CHAT_CONVERSATION_MISSED, make_envelope(CHAT_CONVERSATION_MISSED, other))
    smtp_sink.wait_for_count(2)

    def logged():
        with notifier_sessions() as session:
            rows = list(session.scalars(sa.select(Delivery).where(Delivery.kind == "chat_transcript")
                                        .order_by(Delivery.id)))
        return rows if len(rows) == 2 and all(row.status == "sent" for row in rows) else None

    rows = wait_for(logged, timeout=10, message="both transcript deliveries recorded as sent")
    assert str(rows[0].event_id) == envelope["event_id"] and rows[0].recipient == "kira@example.com"
    assert [r.rcpt_tos for r in smtp_sink.received] == [["kira@example.com"], ["lena@example.com"]]


def test_an_answered_chat_sends_no_transcript(chat_rpc, notifier_service, smtp_sink, notifier_sessions):
    started = chat_rpc.start_conversation({**KIRA, "message": "hi"})
    chat_rpc.post_message(started["conversation"]["id"], {"body": "Hello, Ann here", "author_name": "Ann"})
    chat_rpc.close_conversation_by_token(started["token"])
    chat_rpc.ping()
    with notifier_sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    assert smtp_sink.received == []

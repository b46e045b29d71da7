"""The notifier's send_agent_link RPC: invitations and password resets to agents, one email per request
id (a retried call sends no second one), the gateway's link in it, bad input refused."""
import uuid

import pytest

from services.notifier.models import Delivery
from shared.contracts.exceptions import ValidationError
from tests.fixtures.notifier import deliveries_in

CONTEXT = {"agent_name": "Ann <b>", "client_name": "Acme", "link_url": "https://desk.example.com/agent/invitation/abc",
           "expires_at": "2026-12-07T12:00:00+00:00", "invited_by": "Boss"}


def test_an_invitation_is_sent_once_per_request_with_its_link(notifier_rpc, notifier_sessions, smtp_sink):
    request_id = str(uuid.uuid4())
    assert notifier_rpc.send_agent_link(request_id, "invitation", "ann@acme.test", CONTEXT) == "recorded"
    notifier_rpc.send_agent_link(request_id, "invitation", "ann@acme.test", CONTEXT)  # a retried call
    message = smtp_sink.wait_for_count(1)[0]
    assert message.subject == "You are invited to join Acme on Deskline"
    assert message.rcpt_tos == ["ann@acme.test"]
    assert "https://desk.example.com/agent/invitation/abc" in message.part("plain")
    assert "Boss has invited you" in message.part("plain") and "7 Dec 2026, 12:00 UTC" in message.part("plain")
    assert "Ann &lt;b&gt;" in message.part("html")  # escaped in HTML
    rows = deliveries_in(notifier_sessions, kind="invitation")
    assert len(rows) == 1 and rows[0].status in ("sending", "sent")
    assert len(deliveries_in(notifier_sessions)) == 1 and Delivery.__tablename__


def test_a_password_reset_email(notifier_rpc, smtp_sink):
    link = "https://desk.example.com/agent/reset-password/xyz"
    notifier_rpc.send_agent_link(str(uuid.uuid4()), "password_reset", "bob@acme.test", {**CONTEXT, "link_url": link})
    message = smtp_sink.wait_for_count(1)[0]
    assert message.subject == "Reset your Deskline password (Acme)" and link in message.part("plain")


@pytest.mark.parametrize("args", [
    ("not-a-uuid", "invitation", "ann@acme.test", CONTEXT),
    (None, "welcome", "ann@acme.test", CONTEXT),
    (None, "invitation", "ann@acme.test", {**CONTEXT, "link_url": "javascript:alert(1)"}),
    (None, "invitation", "ann@acme.test", {"agent_name": "Ann"}),
])
def test_bad_requests_are_refused_and_record_nothing(notifier_rpc, notifier_sessions, args):
    request_id, *rest = args
    with pytest.raises(ValidationError):
        notifier_rpc.send_agent_link(request_id or str(uuid.uuid4()), *rest)
    assert deliveries_in(notifier_sessions) == []

"""The SMTP receiver (`python -m services.notifier inbound-smtp`): a client's MX or forwarding rule
points here. aiosmtpd speaks SMTP; each message goes to the notifier's `receive_email` RPC (the same
code as SendGrid's webhook), and its outcome is the SMTP reply: 250 once the mail is on its ticket
(or kept, or knowingly ignored), 550 for an unknown recipient, 552 over a limit, 451 to try later.

Not monkey-patched by eventlet: asyncio serves the connections, a thread pool makes the RPC calls
(one standalone proxy per thread: a proxy is not safe to share)."""
import asyncio
import base64
import logging
import logging.config
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 50
RPC_TIMEOUT = 30.0
TRY_LATER = "451 4.3.0 Try again later"


class NotifierClient:
    """`receive(raw, recipients, envelope_sender)` through the notifier's RPC, one proxy per thread."""

    def __init__(self, amqp_uri, timeout=RPC_TIMEOUT):
        self.config, self.timeout = {"AMQP_URI": amqp_uri}, timeout
        self._local = threading.local()
        self._all, self._lock = [], threading.Lock()

    def _proxy(self):
        if getattr(self._local, "proxy", None) is None:
            from nameko.standalone.rpc import ClusterRpcProxy

            standalone = ClusterRpcProxy(self.config, timeout=self.timeout)
            self._local.standalone, self._local.proxy = standalone, standalone.start()
            with self._lock:
                self._all.append(standalone)
        return self._local.proxy

    def receive(self, raw, recipients, envelope_sender):
        try:
            return self._proxy().notifier.receive_email(
                base64.b64encode(raw).decode(), list(recipients), "smtp", envelope_sender)
        except Exception:
            self._drop()  # a proxy that failed may hold a dead connection or a late reply
            raise

    def _drop(self):
        standalone = getattr(self._local, "standalone", None)
        self._local.proxy = self._local.standalone = None
        if standalone is not None:
            with self._lock:
                if standalone in self._all:
                    self._all.remove(standalone)
            try:
                standalone.stop()
            except Exception:
                pass

    def close(self):
        with self._lock:
            proxies, self._all = self._all, []
        for standalone in proxies:
            try:
                standalone.stop()
            except Exception:
                pass


class InboundHandler:
    """aiosmtpd handler: recipients of our domain only (never an open relay), then the hand-off."""

    def __init__(self, receive, domain, workers=16):
        self.receive, self.domain = receive, domain.lower()
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="inbound")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rpartition("@")[2].lower() != self.domain:
            return "550 5.1.1 Recipient unknown: not a mailbox of this desk"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content or b""
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self.executor, self.receive, bytes(raw), list(envelope.rcpt_tos), envelope.mail_from)
        except Exception as exc:  # the notifier away or slow: the sending server keeps the mail and retries
            log.warning("inbound-smtp: hand-off failed: %r", exc)
            return TRY_LATER
        return outcome.get("smtp_reply") or TRY_LATER


def start_receiver(receive, domain, host, port, max_bytes, workers=16):
    """A running receiver (aiosmtpd's Controller: its own thread and loop); `.stop()` ends it."""
    handler = InboundHandler(receive, domain, workers)
    # data_size_limit: aiosmtpd answers a bigger message 552 itself, before it is taken in.
    controller = Controller(handler, hostname=host, port=port, data_size_limit=max_bytes, enable_SMTPUTF8=True,
                            decode_data=False, ident="Deskline inbound")
    controller.start()
    return controller


def main():
    from shared.platform.config import amqp_uri, logging_config

    from ..config import inbound_smtp_address, settings_from_env

    logging.config.dictConfig(logging_config())
    settings = settings_from_env()
    host, port = inbound_smtp_address()
    client = NotifierClient(amqp_uri())
    controller = start_receiver(client.receive, settings.inbound_email_domain, host, port, settings.inbound_max_bytes)
    log.info("inbound-smtp: listening on %s:%s for *@%s", host, port, settings.inbound_email_domain)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
    client.close()
    log.info("inbound-smtp: stopped")

"""`python -m services.notifier [run|migrate|inbound-smtp]`; migrate also declares the durable event
queues; inbound-smtp is the SMTP receiver for email in (asyncio, so not monkey-patched)."""
import sys

if sys.argv[1:2] == ["inbound-smtp"]:
    from .inbound.smtp import main as inbound_smtp

    inbound_smtp()
    raise SystemExit(0)

from shared.platform.green import patch  # noqa: E402

patch()  # first: monkey patching
from shared.platform.runtime import main  # noqa: E402

from .config import MIGRATIONS_DIR, nameko_config, notifier_database_url  # noqa: E402
from .service import NotifierService  # noqa: E402

main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)

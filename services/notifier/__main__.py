"""`python -m services.notifier [run|migrate|inbound-smtp|webhooks]`; migrate also declares the durable
event queues (the webhooks process's too); inbound-smtp is the SMTP receiver for email in (asyncio, so not
monkey-patched); webhooks delivers events to the clients' webhook endpoints (services/notifier/webhooks)."""
import sys

if sys.argv[1:2] == ["inbound-smtp"]:
    from .inbound.smtp import main as inbound_smtp

    inbound_smtp()
    raise SystemExit(0)

from shared.platform.green import patch  # noqa: E402

patch()  # first: monkey patching
from shared.platform.runtime import main  # noqa: E402

from .config import MIGRATIONS_DIR, nameko_config, notifier_database_url  # noqa: E402
from .webhooks.config import webhooks_nameko_config  # noqa: E402
from .service import NotifierService  # noqa: E402
from .webhooks.service import WebhooksService  # noqa: E402

if sys.argv[1:2] == ["webhooks"]:
    main(WebhooksService, webhooks_nameko_config, MIGRATIONS_DIR, notifier_database_url, argv=["run"])
    raise SystemExit(0)
if sys.argv[1:2] == ["migrate"]:
    # One database, two services' queues: declare the webhooks process's too.
    from shared.platform.queues import declare_event_queues  # noqa: E402

    main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)
    declare_event_queues(WebhooksService, webhooks_nameko_config())
    raise SystemExit(0)
main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)

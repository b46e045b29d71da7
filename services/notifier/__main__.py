"""`python -m services.notifier [run|migrate]`; migrate also declares the durable event queues."""
import shared.green  # noqa: F401  (first: monkey patching)

import logging
import sys

from shared.runtime import main

from .config import MIGRATIONS_DIR, nameko_config, notifier_database_url
from .queues import declare_event_queues
from .service import NotifierService

main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)
if sys.argv[1:2] == ["migrate"]:
    # Part of migrating: from here on, ticket events wait in these queues until the notifier runs.
    names = declare_event_queues(nameko_config())
    logging.getLogger("notifier").info("event queues declared: %s", ", ".join(names))

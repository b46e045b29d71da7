"""`python -m services.chat [run|migrate]`; migrate also declares the durable ticket-event queue."""
import shared.green  # noqa: F401  (first: monkey patching)

import logging
import sys

from shared.runtime import main

from .config import MIGRATIONS_DIR, chat_database_url, nameko_config
from .queues import declare_event_queues
from .service import ChatService

main(ChatService, nameko_config, MIGRATIONS_DIR, chat_database_url)
if sys.argv[1:2] == ["migrate"]:
    # Part of migrating: from here on, ticket.created waits in this queue until chat runs.
    names = declare_event_queues(nameko_config())
    logging.getLogger("chat").info("event queues declared: %s", ", ".join(names))

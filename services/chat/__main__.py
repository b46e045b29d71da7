"""`python -m services.chat [run|migrate]`; migrate also declares the durable ticket-event queue."""
import shared.platform.green  # noqa: F401  (first: monkey patching)
from shared.platform.runtime import main

from .config import MIGRATIONS_DIR, chat_database_url, nameko_config
from .service import ChatService

main(ChatService, nameko_config, MIGRATIONS_DIR, chat_database_url)

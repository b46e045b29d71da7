"""`python -m services.chat [run|migrate]`; migrate also declares the durable ticket-event queue."""
from shared.platform.green import patch

patch()  # first: monkey patching
from shared.platform.runtime import main  # noqa: E402

from .config import MIGRATIONS_DIR, chat_database_url, nameko_config  # noqa: E402
from .service import ChatService  # noqa: E402

main(ChatService, nameko_config, MIGRATIONS_DIR, chat_database_url)

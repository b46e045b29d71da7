"""`python -m services.tickets [run|migrate]`."""
from shared.platform.green import patch

patch()  # first: monkey patching
from shared.platform.runtime import main  # noqa: E402

from .config import MIGRATIONS_DIR, nameko_config, tickets_database_url  # noqa: E402
from .service import TicketsService  # noqa: E402

main(TicketsService, nameko_config, MIGRATIONS_DIR, tickets_database_url)

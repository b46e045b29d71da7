"""`python -m services.tickets [run|migrate]`."""
import shared.platform.green  # noqa: F401  (first: monkey patching)
from shared.platform.runtime import main

from .config import MIGRATIONS_DIR, nameko_config, tickets_database_url
from .service import TicketsService

main(TicketsService, nameko_config, MIGRATIONS_DIR, tickets_database_url)

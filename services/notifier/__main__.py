"""`python -m services.notifier [run|migrate]`; migrate also declares the durable event queues."""
import shared.green  # noqa: F401  (first: monkey patching)

from shared.runtime import main

from .config import MIGRATIONS_DIR, nameko_config, notifier_database_url
from .service import NotifierService

main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)

"""`python -m services.notifier [run|migrate]`; migrate also declares the durable event queues."""
import shared.platform.green  # noqa: F401  (first: monkey patching)
from shared.platform.runtime import main

from .config import MIGRATIONS_DIR, nameko_config, notifier_database_url
from .service import NotifierService

main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)

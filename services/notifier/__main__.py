"""`python -m services.notifier [run|migrate]`; migrate also declares the durable event queues."""
from shared.platform.green import patch

patch()  # first: monkey patching
from shared.platform.runtime import main  # noqa: E402

from .config import MIGRATIONS_DIR, nameko_config, notifier_database_url  # noqa: E402
from .service import NotifierService  # noqa: E402

main(NotifierService, nameko_config, MIGRATIONS_DIR, notifier_database_url)

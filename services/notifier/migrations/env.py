"""Alembic environment for the notifier service's own database."""
from services.notifier.models import Base
from shared.platform.migrations import run_env

run_env(Base.metadata)

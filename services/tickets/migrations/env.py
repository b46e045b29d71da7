"""Alembic environment for the tickets service's own database."""
from services.tickets.models import Base
from shared.platform.migrations import run_env

run_env(Base.metadata)

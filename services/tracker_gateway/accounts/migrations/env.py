"""Alembic environment for the gateway's own database."""
from services.tracker_gateway.accounts.models import Base
from shared.platform.migrations import run_env

run_env(Base.metadata)

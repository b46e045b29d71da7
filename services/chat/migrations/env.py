"""Alembic environment for the chat service's own database."""
from services.chat.models import Base
from shared.platform.migrations import run_env

run_env(Base.metadata)

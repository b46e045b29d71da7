"""Create a service's database if absent and apply its Alembic migrations."""
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url


def ensure_database(url):
    """CREATE DATABASE for `url` unless it exists (connects to the server's `postgres` database)."""
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def alembic_config(migrations_dir, url):
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolates '%': URL-encoded passwords must be escaped.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(migrations_dir, url):
    ensure_database(url)
    command.upgrade(alembic_config(migrations_dir, url), "head")


def run_env(target_metadata):
    """The body of every service's `migrations/env.py`: migrate online, on the configured URL."""
    from alembic import context

    config = context.config
    engine = sa.engine_from_config(
        config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=sa.pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

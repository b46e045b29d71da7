"""Root conftest: monkey patch before anything else is imported (or integration tests hang)."""
import shared.green  # noqa: F401

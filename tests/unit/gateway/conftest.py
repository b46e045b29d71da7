"""A gateway app with no service behind it: create_app opens its database, Redis and RPC connections
lazily, so an app whose requests touch none of them runs here (the tier's guard fails any that does)."""
import pytest

from services.tracker_gateway.app import close_app, create_app


@pytest.fixture
def offline_app():
    app = create_app({"TESTING": True, "PUBLIC_BASE_URL": "https://desk.example.com"})
    yield app
    close_app(app)

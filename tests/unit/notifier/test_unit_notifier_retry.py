"""The notifier's back-off between attempts: doubling from the base, jittered, capped, Retry-After first."""
import pytest

from services.notifier import deliveries
from services.notifier.config import Settings


@pytest.mark.parametrize("attempts, lowest, highest", [(1, 5, 10), (2, 10, 20), (3, 20, 40), (12, 30, 60)])
def test_back_off_doubles_with_jitter_and_a_cap(attempts, lowest, highest):
    settings = Settings(retry_base_seconds=10, retry_max_seconds=60)
    assert deliveries.retry_delay(attempts, settings, rand=lambda: 0.0) == lowest
    assert deliveries.retry_delay(attempts, settings, rand=lambda: 1.0) == highest
    assert deliveries.retry_delay(attempts, settings, retry_after=500, rand=lambda: 1.0) == 500

"""Fixed-window rate limits counted in Redis, so that every gateway instance shares them.

One module for every limit of the gateway but the tracker's (whose Lua script counts and looks up
in one round trip, keeping hits and misses equally fast): login failures per e-mail and per
address, and the public chat's calls per address. A limit past its count raises TooManyAttempts,
which core/errors.py answers with 429 and Retry-After, or a page shows in words.
"""
import math
from dataclasses import dataclass

from flask import current_app

from services.tracker_gateway.core.errors import TooManyAttempts


@dataclass(frozen=True)
class Limit:
    """At most `most` events per `window` seconds under `key` (the prefix is added here)."""

    key: str
    most: int
    window: int


def _redis():
    return current_app.extensions["redis"]


def _full_key(limit):
    return f"{current_app.config['REDIS_PREFIX']}{limit.key}"


def _retry_after(pttl_ms):
    return max(1, math.ceil(max(pttl_ms, 0) / 1000))


def check(*limits):
    """TooManyAttempts if any limit is used up, without counting (login: failures alone count)."""
    with _redis().pipeline(transaction=False) as pipe:
        for limit in limits:
            pipe.get(_full_key(limit))
            pipe.pttl(_full_key(limit))
        values = pipe.execute()
    for limit, used, pttl in zip(limits, values[0::2], values[1::2]):
        if used is not None and int(used) >= limit.most:
            raise TooManyAttempts(_retry_after(pttl))


def hit(*limits):
    """Count one event against each limit (its window starts with its first event); TooManyAttempts
    if that event is past any of them."""
    with _redis().pipeline(transaction=False) as pipe:
        for limit in limits:
            pipe.incr(_full_key(limit))
            pipe.expire(_full_key(limit), limit.window, nx=True)
            pipe.pttl(_full_key(limit))
        values = pipe.execute()
    for limit, used, pttl in zip(limits, values[0::3], values[2::3]):
        if used > limit.most:
            raise TooManyAttempts(_retry_after(pttl))

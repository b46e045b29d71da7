"""eventlet's monkey patching for the nameko processes, done once, first, by each entry point.

Patching before anything opens a socket makes kombu and psycopg2 cooperative (blocking psycopg2
calls would stall every greenlet of a service). eventlet announces its own deprecation on import;
that is known and silenced here. The gateway is not patched: gunicorn's gthread workers stay threads.
"""
import warnings


def patch():
    """Monkey patch the standard library for eventlet (idempotent)."""
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

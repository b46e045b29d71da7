"""Imported first by every process entry point: eventlet's monkey patching, done once, early.

Patching before anything opens a socket makes kombu and psycopg2 cooperative; eventlet's
own deprecation notice is known (nameko 2.14 needs eventlet) and silenced here.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

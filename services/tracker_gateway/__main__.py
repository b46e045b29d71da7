"""`python -m services.tracker_gateway [run|projector|migrate|bootstrap|create-client|create-agent|rebuild-tracker]`."""
import sys

# Only the projector is a nameko (eventlet) process; gunicorn's gthread workers must not be patched.
if sys.argv[1:2] == ["projector"]:
    import shared.platform.green  # noqa: F401

from services.tracker_gateway.cli import main  # noqa: E402

main()

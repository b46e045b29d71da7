"""`python -m services.tracker_gateway [run|chat-stream|migrate|bootstrap|create-client|create-agent|deactivate-agent|rebuild-tracker]`.

`projector` is still accepted for the tracker projector, now `python -m services.tracker_gateway.projector`.
"""
import signal
import sys

if sys.argv[1:2] == ["publish-directory"]:
    # Started by gunicorn's when_ready in the gateway's process group: a Ctrl-C meant for the group
    # ends it quietly (a traceback from the middle of an import would read as a crash); the next start
    # publishes again. Set before the imports below, which take most of its life.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

if sys.argv[1:2] == ["projector"]:
    # The projector is a nameko (eventlet) process; gunicorn's gthread workers must not be patched.
    from shared.platform.green import patch

    patch()
    from services.tracker_gateway.projector.cli import main as projector_main

    projector_main(["run", *sys.argv[2:]])
else:
    from services.tracker_gateway.cli import main

    main()

#!/bin/sh
# The image's entry point: `start.sh COMPONENT [ARGS]` runs one Deskline component in the foreground.
# `exec`, so that the component is PID 1 and gets SIGTERM itself: nameko and gunicorn then stop
# gracefully (in-flight work finishes), and the probes find the service at PID 1.
set -eu
component=${1:-help}
[ $# -gt 0 ] && shift
case "$component" in
    tickets|notifier|chat) exec python -m "services.$component" run "$@" ;;
    gateway)
        # gunicorn (gthread), started as everywhere else (services/tracker_gateway/cli.py: run_gateway).
        exec python -m services.tracker_gateway run "$@"
        ;;
    chat_stream) exec python -m services.tracker_gateway chat-stream "$@" ;;  # customers' chat streams (asyncio)
    tracker_projector) exec python -m services.tracker_gateway.projector run "$@" ;;
    inbound_smtp) exec python -m services.notifier inbound-smtp "$@" ;;      # email in (SMTP receiver)
    webhooks) exec python -m services.notifier webhooks "$@" ;;              # webhook deliveries (own queues)
    migrate) exec "$(dirname "$0")/migrate.sh" "$@" ;;
    probe) exec python -m shared.platform.probe "$@" ;;
    manage) exec python -m services.tracker_gateway "$@" ;;               # create-client, create-agent, rebuild-tracker
    help|--help|-h)
        echo "usage: start.sh tickets|notifier|chat|gateway|chat_stream|tracker_projector|inbound_smtp|webhooks|migrate|probe ARGS|manage ARGS"
        ;;
    *)
        echo "start.sh: unknown component '$component' (try: start.sh help)" >&2
        exit 64
        ;;
esac

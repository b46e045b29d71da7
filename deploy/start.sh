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
        # gunicorn (gthread). Its workers count requests separately: prometheus_client sums them from
        # files in this directory, which must start empty. The control socket would go to $HOME,
        # read-only in the image, and is not used.
        export PROMETHEUS_MULTIPROC_DIR="${TMPDIR:-/tmp}/deskline-metrics-$$"
        rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        exec python -m services.tracker_gateway run --no-control-socket "$@"
        ;;
    tracker_projector) exec python -m services.tracker_gateway projector "$@" ;;
    migrate) exec "$(dirname "$0")/migrate.sh" "$@" ;;
    probe) exec python -m shared.probe "$@" ;;
    manage) exec python -m services.tracker_gateway "$@" ;;               # create-client, create-agent, rebuild-tracker
    help|--help|-h)
        echo "usage: start.sh tickets|notifier|chat|gateway|tracker_projector|migrate|probe ARGS|manage ARGS"
        ;;
    *)
        echo "start.sh: unknown component '$component' (try: start.sh help)" >&2
        exit 64
        ;;
esac

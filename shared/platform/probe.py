"""Health probes for containers: `python -m shared.platform.probe <service>` (nameko) or `--http URL` (gateway).

A nameko service has no port of its own, so a probe can only reach it through the broker, and a
ping sent to `rpc-<service>` is answered by *any* instance, not necessarily the one in this
container. The probe therefore checks two things:

- `--pid N` (default 1, the service in its container): that process holds an established TCP
  connection to the broker's port. A nameko process that hangs stops sending AMQP heartbeats and
  the broker closes its connection, so this is the per-instance liveness signal.
- unless `--no-rpc`: the service answers `ping` within `--timeout` seconds (the broker, the
  service's queue and a worker all work). The reply comes back on an exclusive, auto-deleted
  queue of the probe's own, so a probe leaves nothing behind on the broker (a standalone nameko
  proxy would leave a durable reply queue for five minutes after every probe).

Exit status 0 when healthy, 1 otherwise, with one line saying why.
"""
import argparse
import os
import socket
import sys
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit

from shared.platform.config import amqp_uri

RPC_EXCHANGE = "nameko-rpc"  # nameko's default (config key RPC_EXCHANGE, which no service changes)


def amqp_port(uri):
    parts = urlsplit(uri)
    return parts.port or (5671 if parts.scheme == "amqps" else 5672)


def _socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed between listdir and readlink
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def broker_connections(pid, port):
    """How many established TCP connections process `pid` holds to remote `port`."""
    inodes = _socket_inodes(pid)
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    # st 01 is ESTABLISHED; field 9 is the socket's inode.
                    if fields[3] == "01" and remote_port == port and fields[9] in inodes:
                        count += 1
        except FileNotFoundError:  # no IPv6 in this kernel
            continue
    return count


def ping(service, uri, timeout):
    """Send `<service>.ping` as nameko's RPC does and wait for the answer; True on "pong"."""
    from kombu import Connection, Consumer, Exchange, Producer, Queue

    exchange = Exchange(RPC_EXCHANGE, type="topic", durable=True)
    reply_key = f"probe-{uuid.uuid4()}"
    correlation_id = str(uuid.uuid4())
    answers = []

    def on_reply(body, message):
        if message.properties.get("correlation_id") == correlation_id:
            answers.append(body)
        message.ack()

    with Connection(uri, connect_timeout=timeout, transport_options={"max_retries": 0}) as connection:
        channel = connection.channel()
        queue = Queue(f"rpc.reply-probe-{reply_key}", exchange=exchange, routing_key=reply_key,
                      exclusive=True, auto_delete=True, durable=False)
        with Consumer(channel, [queue], callbacks=[on_reply], accept=["json"]):
            Producer(channel, exchange=exchange, serializer="json").publish(
                {"args": [], "kwargs": {}}, routing_key=f"{service}.ping",
                reply_to=reply_key, correlation_id=correlation_id,
                expiration=timeout,  # a ping nobody took in time must not wait in the queue for a restart
            )
            deadline = timeout
            while not answers and deadline > 0:
                step = min(deadline, 0.25)
                try:
                    connection.drain_events(timeout=step)
                except socket.timeout:
                    pass
                deadline -= step
    return bool(answers) and answers[0].get("error") is None and answers[0].get("result") == "pong"


def check_http(url, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{url}: {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: {exc.code}"
    except OSError as exc:
        return False, f"{url}: {exc}"


def check_smtp(address, timeout):
    """(healthy, reason) for an SMTP server (the inbound receiver): it greets with 220."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout) as connection:
            connection.settimeout(timeout)
            greeting = connection.recv(512).decode(errors="replace")
            connection.sendall(b"QUIT\r\n")
    except (OSError, ValueError) as exc:
        return False, f"smtp {address}: {exc}"
    return greeting.startswith("220"), f"smtp {address}: {greeting.strip()[:80]}"


def check_service(service, pid, timeout, use_rpc, uri=None):
    """(healthy, reason) for a nameko service; see the module's docstring."""
    uri = uri or amqp_uri()
    if pid is not None:
        try:
            connected = broker_connections(pid, amqp_port(uri))
        except (FileNotFoundError, ProcessLookupError):
            return False, f"process {pid} is not running"
        if not connected:
            return False, f"process {pid} has no connection to the broker (port {amqp_port(uri)})"
    if use_rpc:
        try:
            if not ping(service, uri, timeout):
                return False, f"{service} did not answer ping within {timeout:g}s"
        except Exception as exc:  # the broker is unreachable or refused us: report, do not crash
            return False, f"{service}: broker unreachable ({type(exc).__name__}: {exc})"
    return True, f"{service}: ok"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.platform.probe", description=__doc__.split("\n")[0])
    parser.add_argument("service", nargs="?", help="nameko service name (tickets, notifier, chat, tracker_projector)")
    parser.add_argument("--http", metavar="URL", help="probe an HTTP endpoint instead (200 is healthy)")
    parser.add_argument("--smtp", metavar="HOST:PORT", help="probe an SMTP server instead (a 220 greeting is healthy)")
    parser.add_argument("--pid", type=int, default=1, help="the service's process (default 1: the container's)")
    parser.add_argument("--any-instance", action="store_true", help="skip the per-process check")
    parser.add_argument("--no-rpc", action="store_true", help="skip the ping (liveness: this process only)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    if args.http:
        healthy, reason = check_http(args.http, args.timeout)
    elif args.smtp:
        healthy, reason = check_smtp(args.smtp, args.timeout)
    elif args.service:
        pid = None if args.any_instance else args.pid
        healthy, reason = check_service(args.service, pid, args.timeout, not args.no_rpc)
    else:
        parser.error("name a service or give --http URL")
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())

"""A TCP proxy that can cut a service off from its broker (or any server) and let it back.

`cut()` closes every connection through it and stops listening, so a client sees what a stopped
RabbitMQ (`rabbitmqctl stop_app`) or a restarted server gives it: its connections drop and new
ones are refused (ECONNREFUSED). `restore()` listens again on the same port. Only the processes
pointed at the proxy see the outage: the real server and everyone else's tests are untouched.

It runs on OS threads with unpatched sockets, outside eventlet's hub: closing a socket that another
green thread waits on leaves the hub watching a file descriptor number that the next connection
(psycopg2's, say) reuses, and eventlet then fails it with "Second simultaneous read".
"""
from eventlet.patcher import original

from shared.testing import free_port

socket = original("socket")
threading = original("threading")


class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets = set()
        self._listener = None

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    restore = start

    def cut(self):
        """Drop every connection and refuse new ones until `restore()`."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)
        for sock in sockets:
            _close(sock)

    stop = cut

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by cut()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client), _close(server)
                    return
                self._sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except Exception:  # closed by cut(), or by the other side
            pass
        with self._lock:
            self._sockets.discard(source)
            self._sockets.discard(sink)
        _close(source)
        _close(sink)

    def amqp_uri(self, amqp_uri):
        """`amqp_uri` with its host and port replaced by the proxy's."""
        scheme, rest = amqp_uri.split("://", 1)
        credentials, location = rest.rsplit("@", 1)
        vhost = location.split("/", 1)[1] if "/" in location else ""
        return f"{scheme}://{credentials}@127.0.0.1:{self.port}/{vhost}"


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

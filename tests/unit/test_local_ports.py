"""The port checks of ``toro dev``: a port in use is refused; one just released is not."""

from __future__ import annotations

import socket

import pytest

from local.dev import PortInUse, ensure_free, free_port


def _time_wait_on(port: int) -> None:
    """Leave a connection of a listener on ``port`` in TIME_WAIT, as a stopped server does."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        client.sendall(b"x")
        accepted.recv(1)
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.recv(1)
        client.close()


def test_a_port_just_released_by_a_stopped_server_is_free() -> None:
    port = free_port()
    _time_wait_on(port)
    ensure_free("127.0.0.1", port, "AWS endpoint", "--aws-port")  # no PortInUse


def test_a_port_something_listens_on_is_refused() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(PortInUse, match=f"Port {port} on 127.0.0.1 is already in use"):
            ensure_free("127.0.0.1", port, "AWS endpoint", "--aws-port")

"""Queue depths from the broker, for the operator's view (responders.status).

One short connection per look, through kombu (Celery's own transport layer), so the same code
reads Redis (the embedded one too: the sum of a queue's priority lists) and RabbitMQ (a
passive queue declare, which answers the message count without creating anything). Messages
a worker has taken but not yet acknowledged are not counted: they are being worked on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from responders.status import BrokerState

CONNECT_TIMEOUT_S = 2.0


def _connection(url: str, **options: Any) -> Any:
    from kombu import connection  # untyped: kept behind Any

    factory: Any = connection.Connection
    return factory(url, **options)


def redacted(url: str) -> str:
    """The URL without its password, for logs, /readyz and `yuqing status`."""
    try:
        return str(_connection(url).as_uri())
    except Exception:  # noqa: BLE001 — a URL kombu cannot read is shown by its scheme only
        return url.split("://", 1)[0] + "://…"


def probe_broker(url: str, queues: Sequence[str]) -> BrokerState:
    """Reachable? and how many messages wait on each queue. Never raises: an unreachable
    broker is an answer (BrokerState.reachable False, with the reason in words)."""
    from kombu.exceptions import ChannelError

    shown = redacted(url)
    depths: dict[str, int] = {}
    try:
        with _connection(url, connect_timeout=CONNECT_TIMEOUT_S,
                        transport_options={"socket_timeout": CONNECT_TIMEOUT_S,
                                           "socket_connect_timeout": CONNECT_TIMEOUT_S,
                                           "max_retries": 0}) as conn:
            conn.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
            for queue in queues:
                channel = conn.channel()
                try:
                    _, count, _ = channel.queue_declare(queue=queue, passive=True)
                    depths[queue] = int(count)
                except ChannelError:
                    depths[queue] = 0  # not declared yet: nothing was ever sent to it
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001 — RabbitMQ closed it already (NOT_FOUND)
                        pass
    except Exception as exc:  # noqa: BLE001 — any failure to talk to it is "unreachable"
        return BrokerState(url=shown, reachable=False,
                           error=f"{type(exc).__name__}: {str(exc)[:200]}")
    return BrokerState(url=shown, reachable=True, queues=depths)

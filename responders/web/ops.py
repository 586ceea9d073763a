"""The operator's endpoints (issue 15): /healthz, /readyz and /metrics.

- `/healthz`: the process is up and serving (touches nothing: a liveness probe must not fail,
  and get the desk restarted, because the database is down).
- `/readyz`: the database answers, its schema is at every branch's head, the broker answers:
  200, else 503 with the reason in words (a load balancer stops sending traffic).
- `/metrics`: Prometheus' text format, built at scrape time from the database, the broker and
  the workers' counters in Redis (responders.status, responders.ops_counters: why there).
  Open to loopback clients, or to anyone with `Authorization: Bearer <metrics.token>` when
  that is set (a scraper on another machine). Behind a proxy listed in web.trusted_proxies
  the client is the forwarded one, so a proxy on loopback does not open it to the world.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from responders.broker_probe import probe_broker
from responders.ops_counters import OUTCOMES, Counted, counters_url, read_counters
from responders.schema import VERSION_DIRS
from responders.status import (
    OUTBOX_STATES,
    PRIORITIES,
    BrokerInfo,
    BrokerState,
    assemble,
    migration_problem,
    read_figures,
)
from responders.web.deps import DeskContext, desk

router = APIRouter(include_in_schema=False)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_allowed(token: str, authorization: str | None, client: str | None) -> bool:
    """Pure: with a token set, the request must carry it (from anywhere); without one, only
    a loopback client may read."""
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                  token.encode())
    try:
        return client is not None and ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False


def _broker(request: Request, ctx: DeskContext) -> BrokerInfo | None:
    """Set on the app by tasks/ (tasks.cli_desk.build_web_app: the embedded broker's URL and
    the runtime's queues); else the configured broker with the queues of `yuqing run`."""
    info: BrokerInfo | None = getattr(request.app.state, "broker", None)
    if info is None and ctx.settings.broker_url:
        return BrokerInfo(ctx.settings.broker_url, ("schedule", "poll", "analyze", "notify"))
    return info


def _broker_state(info: BrokerInfo | None) -> BrokerState:
    if info is None:
        return BrokerState(url="", reachable=False, error="no broker configured for the desk")
    return probe_broker(info.url, info.queues)


@router.get("/healthz")
def healthz() -> Response:
    return JSONResponse({"ok": True})


@router.get("/readyz")
def readyz(request: Request) -> Response:
    ctx = desk(request)
    checks: dict[str, str] = {}
    reasons: list[str] = []
    with ctx.sessions() as session:
        try:
            session.execute(text("SELECT 1"))
            engine = session.get_bind()
            problem = migration_problem(engine.engine, VERSION_DIRS)
        except Exception as exc:  # noqa: BLE001 — any database failure means "not ready"
            checks["database"] = "unreachable"
            reasons.append(f"the database is unreachable: {type(exc).__name__}: "
                           f"{str(exc)[:200]}")
        else:
            checks["database"] = "ok"
            checks["migrations"] = "ok" if problem is None else "behind"
            if problem is not None:
                reasons.append(problem)
    broker = _broker_state(_broker(request, ctx))
    checks["broker"] = "ok" if broker.reachable else "unreachable"
    if not broker.reachable:
        reasons.append(f"the broker is unreachable ({broker.url}): {broker.error}")
    body: dict[str, Any] = {"ready": not reasons, "checks": checks}
    if reasons:
        body["reason"] = "; ".join(reasons)
    return JSONResponse(body, status_code=200 if not reasons else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    ctx = desk(request)
    client = request.client.host if request.client else None
    token = ctx.settings.tree.metrics.token
    if not metrics_allowed(token, request.headers.get("authorization"), client):
        why = ("a bearer token is required (metrics.token)" if token else
               "only loopback clients may read /metrics; set metrics.token to scrape "
               "from elsewhere")
        return JSONResponse({"error": why}, status_code=401 if token else 403,
                            headers={"WWW-Authenticate": "Bearer"} if token else None)
    now = ctx.now()
    with ctx.sessions() as session:
        figures = read_figures(session, now)
    info = _broker(request, ctx)
    broker = _broker_state(info)
    status = assemble(figures, broker, now)
    counted = read_counters(counters_url(ctx.settings.tree.metrics.redis_url,
                                         info.url if info else ""))
    return Response(exposition(status, counted, now), media_type=CONTENT_TYPE)


# ---------------------------------------------------------------- the text format

def exposition(status: Mapping[str, Any], counted: Counted, now: datetime) -> bytes:
    """Pure: the status and the counters in Prometheus' text format."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(list(families(status, counted))))
    out: bytes = generate_latest(registry)
    return out


class _Families:
    def __init__(self, found: list[Any]) -> None:
        self._found = found

    def collect(self) -> Iterable[Any]:
        return iter(self._found)


def _gauge(name: str, doc: str, labels: list[str], rows: Iterable[tuple[list[str], float]]
           ) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def families(status: Mapping[str, Any], counted: Counted) -> Iterator[Any]:
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    sources = status["sources"]
    yield _gauge("yuqing_sources", "Sources by kind.", ["kind"],
                 (([k], v) for k, v in sorted(sources["by_kind"].items())))
    kinds = sorted(sources["by_kind"])
    yield _gauge("yuqing_sources_failing", "Sources whose last poll failed, by kind.",
                 ["kind"], (([k], sources["failing_by_kind"].get(k, 0)) for k in kinds))
    yield _gauge("yuqing_sources_silent", "Sources gone silent (no new items for several "
                 "of their intervals), by kind.", ["kind"],
                 (([k], sources["silent_by_kind"].get(k, 0)) for k in kinds))
    items = status["items"]
    yield GaugeMetricFamily("yuqing_items_stored", "Items stored (PostgreSQL's estimate "
                            "above 200,000 rows).", value=items["stored"])
    yield GaugeMetricFamily("yuqing_items_unanalysed", "Items stored, waiting for analysis.",
                            value=items["unanalysed"])
    yield GaugeMetricFamily("yuqing_analysis_lag_seconds", "Age of the oldest item waiting "
                            "for analysis (0 when none waits).", value=items["analysis_lag_s"])
    broker = status["broker"]
    yield GaugeMetricFamily("yuqing_broker_up", "1 when the broker answered this scrape.",
                            value=1 if broker["reachable"] else 0)
    yield _gauge("yuqing_queue_depth", "Messages waiting on a broker queue.", ["queue"],
                 (([q], n) for q, n in sorted(broker["queues"].items())))
    alerts = status["alerts"]
    yield _gauge("yuqing_alerts_open", "Open alerts by priority.", ["priority"],
                 (([p], alerts["open_by_priority"][p]) for p in PRIORITIES))
    yield _gauge("yuqing_alerts_overdue", "Open alerts past their deadline, by priority.",
                 ["priority"], (([p], alerts["overdue_by_priority"][p]) for p in PRIORITIES))
    yield _gauge("yuqing_outbox_messages", "Notifications in the outbox by state (pending: "
                 "waiting to be sent).", ["state"],
                 (([s], status["outbox"][s]) for s in OUTBOX_STATES))
    yield GaugeMetricFamily("yuqing_notifications_pending",
                            "Notifications waiting in the outbox.",
                            value=status["outbox"]["pending"])
    yield GaugeMetricFamily("yuqing_poll_counters_up", "1 when the workers' poll counters "
                            "were read (Redis).", value=0 if counted.error else 1)
    polls = CounterMetricFamily("yuqing_polls", "Polls done by workers, by source kind and "
                                "outcome (ok, not_modified, error).", labels=["kind", "outcome"])
    errors = CounterMetricFamily("yuqing_poll_errors", "Failed polls by source kind.",
                                 labels=["kind"])
    for kind in sorted(counted.polls):
        for outcome in OUTCOMES:
            polls.add_metric([kind, outcome], counted.polls[kind].get(outcome, 0))
        errors.add_metric([kind], counted.polls[kind].get("error", 0))
    yield polls
    yield errors
    latency = HistogramMetricFamily("yuqing_fetch_seconds", "Time of a poll's request and "
                                    "parse, by source kind (politeness waits excluded).",
                                    labels=["kind"])
    for kind in sorted(counted.counts):
        buckets = [(_le(b), n) for b, n in sorted(counted.buckets.get(kind, {}).items())]
        buckets.append(("+Inf", counted.counts[kind]))
        latency.add_metric([kind], buckets, counted.sums.get(kind, 0.0))
    yield latency


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"

"""Health and metrics endpoints for load balancers, container health checks and Prometheus."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node import delivery, metrics


async def health(request: Request) -> Response:
    """200 with the queue figures when the database answers, 503 when it does not."""
    node = request.app.state.node
    try:
        async with node.transaction() as tx:
            queue = await delivery.queue_summary(tx)
    except Exception as exc:  # any database failure means "unhealthy", reported not raised
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    return JSONResponse(
        {"status": "ok", "database": "ok", "deliveries": queue},
        headers={"Cache-Control": "no-store"},
    )


async def prometheus(request: Request) -> Response:
    """Metrics in Prometheus' text format (keep it behind the proxy: see docs/scaling.md)."""
    registry: metrics.Metrics = request.app.state.metrics
    async with request.app.state.node.transaction() as tx:
        body = await registry.render(tx)
    return Response(body, media_type=metrics.CONTENT_TYPE)


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/metrics", prometheus, methods=["GET"]),
]

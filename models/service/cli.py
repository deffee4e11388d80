"""The `costbot serve` command."""

from __future__ import annotations

import typer

SHUTDOWN_GRACE_S = 5.0


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the top-level CLI."""
    app.command("serve")(serve)


def serve(
    host: str | None = typer.Option(None, "--host", help="listen address (default service.host)"),
    port: int | None = typer.Option(None, "--port", help="listen port (default service.port)"),
) -> None:
    """Run the model service (HTTP API on uvicorn) until SIGTERM or Ctrl-C."""
    import uvicorn

    from models.service.app import create_app
    from storage.settings import load_settings

    settings = load_settings()
    service = settings.service
    uvicorn.run(
        create_app(settings),
        host=host or service.host,
        port=port or service.port,
        timeout_graceful_shutdown=int(service.request_timeout_s + SHUTDOWN_GRACE_S),
        log_level="info",
        access_log=False,
    )

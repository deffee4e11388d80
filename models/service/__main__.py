"""``python -m models.service [--host H] [--port P]``: the serve command on its own."""

from __future__ import annotations

import logging

import typer

from models.service.cli import serve

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    typer.run(serve)

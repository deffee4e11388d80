"""Run the model service for a benchmark, with knobs the settings do not expose.

Usage: python -m benchmarks.service.serve --port P [--no-costs] [--bucket-size N] [--precision bf16]
Everything else comes from COSTBOT_* variables, as for `costbot serve`.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from costbot.settings import load_settings
from models.service import ServeOptions, create_app


def main() -> None:
    """Parse the knobs and serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-costs", action="store_true", help="no metering and no records")
    parser.add_argument("--bucket-size", type=int, default=16)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = ServeOptions(
        bucket_size=args.bucket_size, precision=args.precision, record_costs=not args.no_costs
    )
    app = create_app(load_settings().service_config(), options=options)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

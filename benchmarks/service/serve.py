"""Run the model service for a benchmark, with knobs the settings do not expose.

Usage: python -m benchmarks.service.serve --port P [--no-costs] [--bucket-size N]
    [--loop auto|asyncio|uvloop] [--http auto|h11|httptools] [--ort-threads N]
Everything else (the engine and precision too) comes from COSTBOT_* variables, as for
`costbot serve`; `--precision` sets service.precision; `--ort-threads` the ONNX Runtime session's
intra-op threads (default: the CPUs the process may use, as served).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from functools import partial

import uvicorn

from costbot.settings import load_settings
from models.service import ServeOptions, create_app, engine


def main() -> None:
    """Parse the knobs and serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-costs", action="store_true", help="no metering and no records")
    parser.add_argument("--bucket-size", type=int, default=16)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "int8"], default=None)
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    parser.add_argument("--http", choices=["auto", "h11", "httptools"], default="auto")
    parser.add_argument("--ort-threads", type=int, default=None)
    parser.add_argument("--ort-no-spinning", action="store_true", help="threads sleep in runs")
    args = parser.parse_args()
    if args.ort_threads is not None:  # the engine opens its session with these threads
        engine.cached_session = partial(engine.cached_session, threads=args.ort_threads)
    if args.ort_no_spinning:
        engine.cached_session = partial(engine.cached_session, spinning=False)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = ServeOptions(bucket_size=args.bucket_size, record_costs=not args.no_costs)
    config = load_settings().service_config()
    if args.precision is not None:
        service = config.service.model_copy(update={"precision": args.precision})
        config = dataclasses.replace(config, service=service)
    app = create_app(config, options=options)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop=args.loop,
        http=args.http,
    )


if __name__ == "__main__":
    main()

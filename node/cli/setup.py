"""Setting up and running a node: `init`, `serve`, `worker` and `db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from node import actors, auth, members, settings, worker
from node.cli.context import config_path
from node.errors import ConfigurationError
from node.runtime import open_node
from storage.database import create_engine
from storage.migrate import upgrade


async def cmd_init(args: argparse.Namespace) -> int:
    path = config_path(args)
    if path.exists():
        raise ConfigurationError(f"{path} already exists: this node is initialised")
    config = settings.new_settings(args.base_url, args.database, dev=args.dev)
    if config.database_url.startswith("sqlite"):
        database_file = config.database_url.split("///", 1)[-1]
        if database_file and database_file != ":memory:":
            Path(database_file).parent.mkdir(parents=True, exist_ok=True)
    node = await open_node(config, migrate=True)
    try:
        async with node.transaction() as tx:
            await actors.instance_actor(tx)
            link = admin_name = None
            if args.first_admin:
                admin = await members.add(tx, args.first_admin, role="admin")
                admin_name = admin.actor.name
                link = await auth.issue_sign_in_link(tx, admin)
    finally:
        await node.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    settings.write(config, path)
    database = make_url(config.database_url).render_as_string(hide_password=True)
    print(f"Initialised {config.base_url} in {path} (database {database}).")
    if link:
        print(f"Sign in as the administrator '{admin_name}' with this one-time link")
        print(f"(valid for 24 hours; choose a password afterwards):\n\n    {link}\n")
    return 0


async def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = settings.load(config_path(args))
    engine = create_engine(config.database_url)
    try:
        await upgrade(engine)
    except (DBAPIError, OSError) as exc:
        raise ConfigurationError(f"cannot upgrade the database: {exc}") from exc
    finally:
        await engine.dispose()
    print("The database schema is up to date.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # the server is only needed by this command

    settings.load(config_path(args))  # fail early, with a message, on a bad configuration
    os.environ["GUILDHALL_CONFIG"] = str(config_path(args).resolve())
    os.environ["GUILDHALL_WORKER"] = "0" if args.no_worker else "1"
    # By import string: node/ must not import web/ (web -> node is the only direction).
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        log_level=args.log_level,
    )
    return 0


async def cmd_worker(args: argparse.Namespace) -> int:
    node = await open_node(settings.load(config_path(args)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"Worker running for {node.settings.base_url}; stop with Ctrl-C.")
    try:
        await worker.run_until_stopped(node, stop)
    finally:
        await node.close()
    return 0



def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `init`, `serve`, `worker` and `db` to the command line."""
    init = commands.add_parser("init", help="write guildhall.toml and create the database")
    init.add_argument("--base-url", default="http://127.0.0.1:8000", help="public URL of the node")
    init.add_argument("--database", default="sqlite+aiosqlite:///var/guildhall.db")
    init.add_argument("--dev", action="store_true", help="allow plain http and loopback addresses")
    init.add_argument("--first-admin", metavar="NAME", help="create this administrator")
    init.set_defaults(run=cmd_init)

    serve = commands.add_parser("serve", help="run the web app and the background worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="run web requests only")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("worker", help="run only the background worker").set_defaults(
        run=cmd_worker
    )

    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply schema migrations").set_defaults(run=cmd_db_upgrade)

"""``finpulse api``: serve the HTTP API; ``finpulse api keys create|list|revoke``."""

from __future__ import annotations

import argparse
import json

from finpulse.settings import Settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("api", help="the HTTP API (serve it, or manage its keys)")
    p.add_argument("--host", default=None, help="override api.host")
    p.add_argument("--port", type=int, default=None, help="override api.port")
    p.set_defaults(handler=_serve)
    asub = p.add_subparsers(dest="api_command", metavar="COMMAND")
    keys = asub.add_parser("keys", help="API keys: create, list, revoke")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = ksub.add_parser("create", help="create a key (its secret is printed once)")
    create.add_argument("name", help="who uses it; labels and acks are recorded under this name")
    create.add_argument("--scope", action="append", required=True, dest="scopes",
                        help="read, label or operate (repeat for several)")
    create.set_defaults(handler=_create)
    listing = ksub.add_parser("list", help="every key (never its secret)")
    listing.add_argument("--json", action="store_true", help="print one JSON array")
    listing.set_defaults(handler=_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_revoke)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from store.migrate import upgrade

    upgrade(settings.database)
    host, port = args.host or settings.api.host, args.port or settings.api.port
    print(f"finpulse api on http://{host}:{port}/v1 (docs: /v1/docs)", flush=True)
    uvicorn.run(create_app(settings, serving=True), host=host, port=port,
                log_level=settings.log_level.lower())
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    from api.keys import create

    key, secret = create(settings, args.name, args.scopes)
    print(f"created API key {key.name!r} with scope(s) {', '.join(key.scopes)}; its secret, "
          "shown only this once:")
    print(secret)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from api.keys import describe, listed

    keys = listed(settings)
    if args.json:
        print(json.dumps([describe(k) for k in keys], indent=2, default=str))
        return 0
    if not keys:
        print("no API keys (create one: finpulse api keys create NAME --scope read)")
    for k in keys:
        d = describe(k)
        print(f"{d['name']}  {','.join(d['scopes'])}  {d['prefix']}…  created {d['created_at']}  "
              f"last used {d['last_used_at'] or 'never'}  {d['state']}")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    from api.keys import revoke

    key = revoke(settings, args.name)
    print(f"revoked API key {key.name!r} at {key.revoked_at}")
    return 0

"""``mt5gateway keys``: make a key (printed once) with the config lines that grant it, or hash one.

mt5gateway keys new --name web --tier PRO --trusted
mt5gateway keys new --admin
mt5gateway keys hash KEY
"""

from __future__ import annotations

import argparse
import json

from .keys import generate_key, hash_key
from .settings import SCOPES

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``keys`` subcommands."""
    sub = parser.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    new = sub.add_parser("new", help="make a new key; prints it once and the config lines to add")
    new.add_argument("--name", help="who the key is for (required for client keys)")
    new.add_argument("--tier", default="FREE", help="the key's own tier (default FREE)")
    new.add_argument(
        "--scopes",
        default="market",
        help=f"comma-separated scopes among {', '.join(SCOPES)} (default market)",
    )
    new.add_argument("--trusted", action="store_true", help="the key may pass X-User-Tier for its users")
    new.add_argument("--admin", action="store_true", help="make the admin key instead of a client key")
    hash_parser = sub.add_parser("hash", help="print the hash line of an existing key")
    hash_parser.add_argument("key")


def run(args: argparse.Namespace) -> int:
    """Print a key and its config lines, or a key's hash."""
    if args.keys_command == "hash":
        print(hash_key(args.key))
        return 0
    key = generate_key()
    if args.admin:
        config = f'[api]\nadmin_key_hash = "{hash_key(key)}"'
    else:
        if not args.name:
            print("keys new: --name is required for a client key")
            return 2
        scopes = [scope.strip() for scope in args.scopes.split(",") if scope.strip()]
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            print(f"keys new: unknown scopes {', '.join(unknown)}; valid: {', '.join(SCOPES)}")
            return 2
        # json.dumps quotes strings and lists the way TOML does for these simple values.
        config = "\n".join(
            [
                "[[api.keys]]",
                f"name = {json.dumps(args.name)}",
                f'hash = "{hash_key(key)}"',
                f"tier = {json.dumps(args.tier.upper())}",
                f"scopes = {json.dumps(scopes)}",
                f"trusted = {'true' if args.trusted else 'false'}",
            ]
        )
    print(f"key (shown once, store it now): {key}\n\nadd to the config file:\n{config}")
    return 0

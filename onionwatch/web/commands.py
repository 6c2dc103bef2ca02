"""``onionwatch serve``, ``onionwatch users`` and ``onionwatch audit``: registered by onionwatch.cli."""
from __future__ import annotations

import getpass
import json
import os
import sys

from onionwatch.safe_output import safe_csv_writer


def register(sub, command) -> None:
    """Add the three subcommands; ``command`` is cli._command (summary, example, --help)."""
    serve = command(sub, "serve", "The analysts' web interface and HTTP API (/api/, OpenAPI at /api/openapi.json).",
                    "onionwatch users add alice --role analyst   # first, an account\n"
                    "onionwatch serve                            # http://127.0.0.1:8080/\n"
                    "onionwatch serve --host 0.0.0.0 --port 8443 --secure-cookies   # behind an https proxy")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--secure-cookies", action="store_true",
                       help="mark the session cookie Secure (required when served over https, e.g. behind a proxy)")
    serve.set_defaults(handler=cmd_serve)

    users = command(sub, "users", "Accounts for the web interface and API: add, list, disable, enable, API tokens.",
                    "onionwatch users add alice --role analyst        # asks for the password\n"
                    "onionwatch users list\n"
                    "onionwatch users disable alice\n"
                    "onionwatch users token alice --label notebook     # prints a new API token once\n"
                    "onionwatch users token alice --revoke 3f2a9c01d4e5")
    users.add_argument("action", choices=["add", "list", "disable", "enable", "token"])
    users.add_argument("name", nargs="?", help="the user")
    users.add_argument("--role", default="viewer", help="with add: viewer, analyst or admin (default viewer)")
    users.add_argument("--password-stdin", action="store_true", help="with add: read the password from stdin")
    users.add_argument("--label", default="", help="with token: what the token is for")
    users.add_argument("--revoke", metavar="TOKEN_ID", help="with token: revoke this token instead")
    users.set_defaults(handler=cmd_users)

    audit = command(sub, "audit", "The audit trail: who searched, viewed, exported or administered what, when, from where.",
                    "onionwatch audit                      # newest 50 entries\n"
                    "onionwatch audit --user alice --limit 200\n"
                    "onionwatch audit --all --csv > audit.csv\n"
                    "onionwatch audit --verify             # check the hash chain; exit 1 if altered")
    audit.add_argument("--user", help="only this user's entries")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--all", action="store_true", help="every entry, oldest first")
    audit.add_argument("--verify", action="store_true", help="check the hash chain")
    formats = audit.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true")
    formats.add_argument("--csv", action="store_true")
    audit.set_defaults(handler=cmd_audit)


def cmd_serve(args, config) -> int:
    import uvicorn

    from onionwatch.web.app import create_app

    if not 0 < args.port < 65536:
        print(f"onionwatch serve: no such port {args.port}", file=sys.stderr)
        return 2
    app = create_app(config, secure_cookies=args.secure_cookies)
    print(f"onionwatch: serving on http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False,
                server_header=False)
    return 0


def cmd_users(args, config) -> int:
    from onionwatch.accounts import AccountError, Accounts
    from onionwatch.audit import AuditLog
    from onionwatch.web.app import accounts_db, audit_db

    accounts = Accounts(accounts_db(config))
    audit = AuditLog(audit_db(config))
    operator = f"cli:{getpass.getuser()}"
    try:
        if args.action == "list":
            for user in accounts.users():
                state = "disabled" if user["disabled"] else "active"
                print(f"{user['name']}  {user['role']}  {state}  created {user['created']}")
            return 0
        if not args.name:
            print(f"onionwatch users {args.action}: name the user", file=sys.stderr)
            return 2
        if args.action == "add":
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = os.environ.get("ONIONWATCH_NEW_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
            accounts.add_user(args.name, password, args.role)
            audit.record(operator, "local", "user_add", args.name, {"role": args.role, "via": "cli"})
            print(f"user {args.name} added ({args.role})")
        elif args.action in ("disable", "enable"):
            accounts.set_disabled(args.name, args.action == "disable")
            audit.record(operator, "local", f"user_{args.action}", args.name, {"via": "cli"})
            print(f"user {args.name} {args.action}d")
        elif args.revoke:
            if not accounts.revoke_token(args.revoke, args.name):
                print(f"onionwatch users token: {args.name} has no live token {args.revoke!r}", file=sys.stderr)
                return 1
            audit.record(operator, "local", "token_revoke", args.revoke, {"user": args.name, "via": "cli"})
            print(f"token {args.revoke} revoked")
        else:
            token_id, secret = accounts.create_token(args.name, args.label)
            audit.record(operator, "local", "token_create", token_id, {"user": args.name, "via": "cli"})
            print(f"token {token_id} for {args.name} (shown once; send as 'Authorization: Bearer ...'):")
            print(secret)
        return 0
    except AccountError as exc:
        print(f"onionwatch users {args.action}: {exc}", file=sys.stderr)
        return 2
    finally:
        accounts.close()
        audit.close()


def cmd_audit(args, config) -> int:
    from onionwatch.audit import AuditLog
    from onionwatch.web.app import audit_db

    audit = AuditLog(audit_db(config))
    try:
        if args.verify:
            checked, broken = audit.verify()
            if broken is not None:
                print(f"ALTERED: the hash chain breaks at entry {broken} (after {checked} good entries)")
                return 1
            print(f"hash chain intact over {checked} entries")
            return 0
        audit.record(f"cli:{getpass.getuser()}", "local", "audit_view", args.user or "", {"via": "cli"})
        if args.all:
            rows = [e for e in audit.all() if not args.user or e["user"] == args.user]
        else:
            rows = audit.entries(max(1, args.limit), user=args.user)
        columns = ["id", "at", "user", "address", "action", "target", "detail"]
        if args.json:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False))
        elif args.csv:
            writer = safe_csv_writer(sys.stdout)
            writer.writerow(columns + ["prev_hash", "hash"])
            for row in rows:
                writer.writerow([json.dumps(row[c], ensure_ascii=False) if c == "detail" else row[c]
                                 for c in columns + ["prev_hash", "hash"]])
        else:
            for row in rows:
                detail = json.dumps(row["detail"], ensure_ascii=False)
                print(f"{row['id']:>6}  {row['at']}  {row['user']}  {row['address']}  {row['action']}  "
                      f"{row['target']}  {detail}")
        return 0
    finally:
        audit.close()

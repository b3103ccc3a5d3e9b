#!/usr/bin/env python3
"""A fake of GitHub's Actions secrets REST API, for tests only, on 127.0.0.1 (plain HTTP).

It serves a real X25519 public key (libsodium, via PyNaCl) with a key id, checks the bearer token, the
key id and the body of every PUT, opens every sealed box with real libsodium (crypto_box_seal_open) and
records each request, with what the box held, as JSON in the --record file (rewritten after every
request). The first line on stdout is the port.

Known scopes: repository acme/app, its environments `production` and `prod eu`, organisation acme.
With --prefix /api/v3 it serves the API under that path, as GitHub Enterprise Server does (requests
outside it are recorded and answered 404).

    fake_github.py --token T --record FILE [--existing NAME]... [--status PATH_SUFFIX:STATUS]...
                   [--fail-put-attempt N:STATUS]... [--prefix PATH]
"""
import argparse
import base64
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nacl.public import PrivateKey, SealedBox

REPOS = {("acme", "app")}
ENVIRONMENTS = {("acme", "app", "production"), ("acme", "app", "prod eu")}
ORGS = {"acme"}
VISIBILITIES = {"all", "private", "selected"}

SCOPE_RE = re.compile(
    r"^/(?:repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/(?:actions|environments/(?P<env>[^/]+))"
    r"|orgs/(?P<org>[^/]+)/actions)/secrets/(?P<name>[^/]+)$"
)

args = None
lock = threading.Lock()
records = []
stored = {}  # scope path -> set of secret names
put_attempts = 0
sk = PrivateKey.generate()
key_id = str(secrets.randbelow(10**18))


def save():
    # Written before the reply is sent, and atomically: once the client has its answer, the record is there.
    tmp = args.record + ".tmp"
    with open(tmp, "w") as f:
        json.dump(records, f, indent=1)
    os.replace(tmp, args.record)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=None, rec=None):
        if rec is not None:
            rec["status"] = status
            with lock:
                records.append(rec)
                save()
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        raw_path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = {
            "method": method,
            "path": raw_path,
            "authorization_ok": self.headers.get("Authorization") == f"Bearer {args.token}",
            "accept": self.headers.get("Accept"),
            "api_version": self.headers.get("X-GitHub-Api-Version"),
            "user_agent": self.headers.get("User-Agent"),
        }
        if not rec["authorization_ok"]:
            return self.reply(401, {"message": "Bad credentials"}, rec)
        if args.prefix:
            if not raw_path.startswith(args.prefix + "/"):
                return self.reply(404, {"message": "Not Found"}, rec)
            raw_path = raw_path[len(args.prefix):]
        m = SCOPE_RE.match(raw_path)
        if not m:
            return self.reply(404, {"message": "Not Found"}, rec)
        owner, repo, env, org, name = (
            m.group("owner"), m.group("repo"), m.group("env"), m.group("org"), m.group("name")
        )
        env = urllib.parse.unquote(env) if env is not None else None
        rec["environment"] = env
        if org is not None:
            known = org in ORGS
        elif env is not None:
            known = (owner, repo, env) in ENVIRONMENTS
        else:
            known = (owner, repo) in REPOS
        if not known:
            return self.reply(404, {"message": "Not Found"}, rec)
        scope = raw_path.rsplit("/", 1)[0]
        for fault in args.status:
            suffix, status = fault.rsplit(":", 1)
            if raw_path.endswith(suffix) and method == "GET":
                return self.reply(int(status), {"message": "Resource not accessible by integration"}, rec)
        if method == "GET" and name == "public-key":
            return self.reply(
                200, {"key_id": key_id, "key": base64.b64encode(bytes(sk.public_key)).decode()}, rec
            )
        if method == "GET":
            with lock:
                exists = name in stored.get(scope, set()) or name in args.existing
            if exists:
                return self.reply(200, {"name": name, "created_at": "2024-01-01T00:00:00Z"}, rec)
            return self.reply(404, {"message": "Not Found"}, rec)
        if method == "PUT":
            global put_attempts
            with lock:
                put_attempts += 1
                attempt = put_attempts
            try:
                doc = json.loads(body)
            except ValueError:
                return self.reply(400, {"message": "Problems parsing JSON"}, rec)
            rec["body"] = doc
            rec["attempt"] = attempt
            for fault in args.fail_put_attempt:
                n, status = fault.split(":")
                if int(n) == attempt:
                    return self.reply(int(status), {"message": f"injected fault on PUT {attempt}"}, rec)
            if doc.get("key_id") != key_id:
                return self.reply(422, {"message": "key_id does not match"}, rec)
            if org is not None and doc.get("visibility") not in VISIBILITIES:
                return self.reply(422, {"message": "visibility is required"}, rec)
            try:
                opened = SealedBox(sk).decrypt(base64.b64decode(doc["encrypted_value"], validate=True))
            except Exception as e:  # noqa: BLE001 - any failure is a bad box
                rec["open_error"] = repr(e)
                return self.reply(422, {"message": "cannot decrypt encrypted_value"}, rec)
            rec["opened_b64"] = base64.b64encode(opened).decode()
            with lock:
                created = name not in stored.setdefault(scope, set()) and name not in args.existing
                stored[scope].add(name)
            return self.reply(201 if created else 204, None, rec)
        return self.reply(405, {"message": "Method not allowed"}, rec)

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--existing", action="append", default=[])
    p.add_argument("--status", action="append", default=[])
    p.add_argument("--fail-put-attempt", action="append", default=[])
    p.add_argument("--prefix", default="")
    args = p.parse_args()
    save()
    # Exit when the test that started us goes away (it holds our stdin open).
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

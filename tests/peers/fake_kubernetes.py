#!/usr/bin/env python3
"""A fake of the Kubernetes API's Secret creation, for tests only, on 127.0.0.1.

Plain HTTP by default (ferrosign allows plain HTTP to loopback only); with --tls-cert/--tls-key it speaks
TLS, and with --client-ca it requires a client certificate signed by that CA (mutual TLS, as an API
server authenticating kubeconfig client certificates). Otherwise it checks the bearer token.

POST /api/v1/namespaces/{ns}/secrets is checked as the API server would (kind, apiVersion, name and
namespace) plus what ferrosign promises (type Opaque, immutable, exactly the data keys cosign.key,
cosign.pub, cosign.password, strict base64). Every request is recorded as JSON in the --record file
(written before the reply). The first line on stdout is the port.

    fake_kubernetes.py --record FILE [--token T] [--tls-cert F --tls-key F [--client-ca F]]
                       [--existing NS/NAME]... [--status CODE]
"""
import argparse
import base64
import binascii
import json
import os
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAMESPACES = {"default", "signing"}
DATA_KEYS = {"cosign.key", "cosign.pub", "cosign.password"}
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PATH_RE = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/secrets$")

args = None
lock = threading.Lock()
records = []
stored = {}  # "ns/name" -> the created object


def save():
    tmp = args.record + ".tmp"
    with open(tmp, "w") as f:
        json.dump(records, f, indent=1)
    os.replace(tmp, args.record)


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, rec):
        rec["status"] = status
        with lock:
            records.append(rec)
            save()
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        rec = {"method": "POST", "path": self.path, "content_type": self.headers.get("Content-Type"),
               "user_agent": self.headers.get("User-Agent")}
        if args.client_ca:
            cert = self.connection.getpeercert()
            subject = dict(x[0] for x in cert.get("subject", ())) if cert else {}
            rec["client_cn"] = subject.get("commonName")
            rec["authorization_ok"] = bool(cert)
        else:
            rec["authorization_ok"] = self.headers.get("Authorization") == f"Bearer {args.token}"
        if not rec["authorization_ok"]:
            return self.reply(401, status_body(401, "Unauthorized", "Unauthorized"), rec)
        m = PATH_RE.match(self.path)
        if not m:
            return self.reply(404, status_body(404, "NotFound", "the server could not find the requested resource"), rec)
        ns = m.group("ns")
        if args.status:
            return self.reply(args.status, status_body(
                args.status, "Forbidden",
                f'secrets is forbidden: User "ci" cannot create resource "secrets" in API group "" '
                f'in the namespace "{ns}"'), rec)
        if ns not in NAMESPACES:
            return self.reply(404, status_body(404, "NotFound", f'namespaces "{ns}" not found'), rec)
        try:
            obj = json.loads(raw)
        except ValueError:
            return self.reply(400, status_body(400, "BadRequest", "invalid JSON"), rec)
        problems = []
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if obj.get("apiVersion") != "v1" or obj.get("kind") != "Secret":
            problems.append("not a v1 Secret")
        if not NAME_RE.match(name or ""):
            problems.append(f"bad name {name!r}")
        if meta.get("namespace") not in (None, ns):
            problems.append("metadata.namespace does not match the URL")
        if obj.get("type") != "Opaque":
            problems.append(f"type is {obj.get('type')!r}, not Opaque")
        if obj.get("immutable") is not True:
            problems.append("not immutable")
        data = obj.get("data") or {}
        if set(data) != DATA_KEYS:
            problems.append(f"data keys are {sorted(data)}")
        decoded = {}
        for k, v in data.items():
            try:
                decoded[k] = base64.b64decode(v, validate=True).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError) as e:
                problems.append(f"data[{k}] is not base64 text: {e}")
        rec.update({"namespace": ns, "name": name, "object": obj, "decoded": decoded, "problems": problems})
        if problems:
            return self.reply(422, status_body(422, "Invalid", "; ".join(problems)), rec)
        key = f"{ns}/{name}"
        created = dict(obj)
        created["metadata"] = dict(meta, namespace=ns, uid="00000000-0000-0000-0000-000000000001",
                                   resourceVersion="1", creationTimestamp="2024-01-01T00:00:00Z")
        with lock:
            exists = key in stored or key in args.existing
            if not exists:
                stored[key] = created
        if exists:
            return self.reply(409, status_body(409, "AlreadyExists", f'secrets "{name}" already exists'), rec)
        return self.reply(201, created, rec)

    def do_GET(self):
        # What `cosign --key k8s://NS/NAME` reads: the stored Secret.
        rec = {"method": "GET", "path": self.path.split("?", 1)[0]}
        rec["authorization_ok"] = bool(args.client_ca) or self.headers.get("Authorization") == f"Bearer {args.token}"
        if not rec["authorization_ok"]:
            return self.reply(401, status_body(401, "Unauthorized", "Unauthorized"), rec)
        m = re.match(r"^/api/v1/namespaces/([^/]+)/secrets/([^/]+)$", rec["path"])
        with lock:
            obj = stored.get(f"{m.group(1)}/{m.group(2)}") if m else None
        if obj is None:
            return self.reply(404, status_body(404, "NotFound", "not found"), rec)
        return self.reply(200, obj, rec)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--record", required=True)
    p.add_argument("--token", default="")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca")
    p.add_argument("--existing", action="append", default=[])
    p.add_argument("--status", type=int, default=0)
    args = p.parse_args()
    save()
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

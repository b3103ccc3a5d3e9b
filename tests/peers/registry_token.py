#!/usr/bin/env python3
"""The pieces a real registry needs to behave like ghcr.io, for tests only, on 127.0.0.1: a test CA and
server certificate (for docker-registry's `http.tls`), and a token issuer for docker-registry's
`auth: token` (distribution's token authentication, the flow of ghcr.io and Docker Hub).

    registry_token.py certs DIR
        Writes DIR/ca.pem (a fresh test CA), DIR/server.pem and DIR/server.key (for 127.0.0.1 and localhost,
        signed by that CA), and exits.
    registry_token.py serve --dir DIR --user U --password P [--tls] [--service S] [--issuer I]
        Writes DIR/token-signer.pem (the self-signed certificate of the fresh ES256 key that signs tokens:
        the registry's `rootcertbundle`), listens on a free 127.0.0.1 port (HTTPS with DIR/server.pem when
        --tls, after `certs DIR`), prints `READY {json}` (port, realm, service, issuer, rootcertbundle) and
        serves until its stdin closes. The realm names the host `localhost`: go-containerregistry (cosign)
        refuses a realm on a loopback IP literal unless it is the registry's own host:port.

The token endpoint, as Docker's token specification describes it:
    GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]   Authorization: Basic U:P
    POST /token   (form: grant_type=password, username, password, service, scope; the OAuth2 variant)
answer 200 {"token", "access_token", "expires_in": 300, "issued_at"}: a real JWT (ES256, `x5c` header with
the signer certificate) with iss, sub, aud, exp, nbf, iat, jti and `access` granting what each repository
scope asked. Missing or wrong credentials: 401; another service: 400. Every request is appended as one JSON
line to DIR/token-requests.jsonl (method, user, scopes, service, agent, status; never a password).
"""
import argparse
import base64
import datetime
import ipaddress
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ACTIONS = {"pull", "push", "delete", "*"}


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, public_key, signer, *, ca, sans=None, server=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if server:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(signer, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def certs(d):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("ferrosign test CA", "ferrosign test CA", ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    server = _cert("127.0.0.1", "ferrosign test CA", key.public_key(), ca_key, ca=False, sans=sans, server=True)
    with open(os.path.join(d, "ca.pem"), "wb") as f:
        f.write(_pem(ca))
    with open(os.path.join(d, "server.pem"), "wb") as f:
        f.write(_pem(server) + _pem(ca))
    with open(os.path.join(d, "server.key"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


def parse_scope(scope):
    # repository:NAME:ACTIONS, NAME may hold ':'? No (image names cannot); split from both ends.
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a in ACTIONS]}


def serve(args):
    signing_key = ec.generate_private_key(ec.SECP256R1())
    signer = _cert("ferrosign test token signer", "ferrosign test token signer",
                   signing_key.public_key(), signing_key, ca=False)
    bundle = os.path.join(args.dir, "token-signer.pem")
    with open(bundle, "wb") as f:
        f.write(_pem(signer))
    x5c = [base64.b64encode(signer.public_bytes(serialization.Encoding.DER)).decode()]
    signing_pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    log_path = os.path.join(args.dir, "token-requests.jsonl")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, record):
            data = json.dumps(body).encode()
            with lock, open(log_path, "a") as f:
                f.write(json.dumps(dict(record, status=status)) + "\n")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="ferrosign-test-token"')
            self.end_headers()
            self.wfile.write(data)

        def issue(self, method, user, password, service, scopes):
            record = {"method": method, "user": user, "scopes": scopes, "service": service,
                      "agent": self.headers.get("User-Agent", "")}
            if user is None:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "credentials required"}]}, record)
            if not (secrets.compare_digest(user, args.user) and secrets.compare_digest(password, args.password)):
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong credentials"}]}, record)
            if service != args.service:
                return self.reply(400, {"errors": [{"code": "DENIED", "message": f"unknown service {service!r}"}]}, record)
            access = [a for a in (parse_scope(s) for s in scopes) if a]
            now = int(time.time())
            claims = {
                "iss": args.issuer,
                "sub": user,
                "aud": service,
                "exp": now + 300,
                "nbf": now - 10,
                "iat": now,
                "jti": secrets.token_hex(16),
                "access": access,
            }
            token = jwt.encode(claims, signing_pem, algorithm="ES256", headers={"x5c": x5c, "typ": "JWT"})
            issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).isoformat()
            self.reply(200, {"token": token, "access_token": token, "expires_in": 300, "issued_at": issued}, record)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]}, {"method": "GET", "path": url.path})
            q = urllib.parse.parse_qs(url.query)
            user = password = None
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
                except Exception:
                    user = password = None
            scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
            self.issue("GET", user, password, q.get("service", [""])[0], scopes)

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(min(n, 65536)).decode(errors="replace"))
            if url.path != "/token" or form.get("grant_type", [""])[0] != "password":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]}, {"method": "POST", "path": url.path})
            scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
            self.issue("POST", form.get("username", [None])[0], form.get("password", [""])[0],
                       form.get("service", [""])[0], scopes)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scheme = "http"
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(args.dir, "server.pem"), os.path.join(args.dir, "server.key"))
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    port = server.server_address[1]
    ready = {
        "port": port,
        # By name, not 127.0.0.1: go-containerregistry (cosign) refuses a realm that is a loopback or private IP
        # literal on another host:port than the registry's (its SSRF guard; ghcr.io's realm is on its own host).
        "realm": f"{scheme}://localhost:{port}/token",
        "service": args.service,
        "issuer": args.issuer,
        "rootcertbundle": bundle,
        "requests": log_path,
    }
    sys.stdout.write("READY " + json.dumps(ready) + "\n")
    sys.stdout.flush()

    def watch():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("certs")
    c.add_argument("dir")
    s = sub.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--tls", action="store_true")
    s.add_argument("--service", default="ferrosign-test-registry")
    s.add_argument("--issuer", default="ferrosign-test-token-issuer")
    args = p.parse_args()
    if args.cmd == "certs":
        certs(args.dir)
    else:
        serve(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Helpers of bench/run.sh (Python standard library only, loopback only).

  push ADDR SIGN_ADDR PREFIX N   push N fresh one-layer images to the registry at ADDR (repositories
                                 PREFIX-1 … PREFIX-N) and print SIGN_ADDR/PREFIX-i@sha256:… per line
  layers ADDR REF                the number of simple-signing layers in REF's `.sig` manifest (0: none)
  token URL REQUEST_TOKEN        an identity token from the test instance's Actions OIDC endpoint
  first-request CMD…             run CMD with every `{}` replaced by `127.0.0.1:PORT`, a listener of ours;
                                 print the seconds from the process start to its first connection there,
                                 then stop it (`-` when it exited without connecting)
"""
import hashlib
import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(conn: http.client.HTTPConnection, repo: str, data: bytes) -> str:
    d = digest(data)
    conn.request("POST", f"/v2/{repo}/blobs/uploads/")
    r = conn.getresponse()
    r.read()
    if r.status != 202:
        sys.exit(f"blob upload start: {r.status}")
    loc = urllib.parse.urlsplit(r.getheader("Location"))
    sep = "&" if loc.query else "?"
    path = f"{loc.path}?{loc.query}{sep}digest={d}" if loc.query else f"{loc.path}?digest={d}"
    conn.request("PUT", path, body=data, headers={"Content-Type": "application/octet-stream"})
    r = conn.getresponse()
    r.read()
    if r.status != 201:
        sys.exit(f"blob upload: {r.status}")
    return d


def push(addr: str, sign_addr: str, prefix: str, n: int) -> None:
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    nonce = f"{time.time_ns()}"
    for i in range(1, n + 1):
        repo = f"{prefix}-{i}"
        layer = f"layer {repo} {nonce}\n".encode()
        ld = push_blob(conn, repo, layer)
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [ld]}}).encode()
        cd = push_blob(conn, repo, config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld,
                        "size": len(layer)}],
        }).encode()
        conn.request("PUT", f"/v2/{repo}/manifests/v1", body=manifest,
                     headers={"Content-Type": OCI_MANIFEST})
        r = conn.getresponse()
        r.read()
        if r.status != 201:
            sys.exit(f"manifest upload: {r.status}")
        print(f"{sign_addr}/{repo}@{digest(manifest)}")


def layers(addr: str, ref: str) -> None:
    name, d = ref.split("/", 1)[1].split("@")
    tag = d.replace(":", "-") + ".sig"
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", f"/v2/{name}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    r = conn.getresponse()
    body = r.read()
    if r.status == 404:
        print(0)
        return
    if r.status != 200:
        sys.exit(f"GET {tag}: {r.status}")
    m = json.loads(body)
    print(sum(1 for l in m.get("layers", []) if l.get("mediaType") == SIMPLE_SIGNING))


def token(url: str, request_token: str) -> None:
    req = urllib.request.Request(url + "&audience=sigstore",
                                 headers={"Authorization": f"bearer {request_token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as r:
        print(json.load(r)["value"])


def first_request(cmd: list) -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    addr = f"127.0.0.1:{srv.getsockname()[1]}"
    argv = [a.replace("{}", addr) for a in cmd]
    srv.settimeout(0.005)
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    took = None
    while took is None and time.monotonic() - start < 60:
        try:
            c, _ = srv.accept()
            took = time.monotonic() - start
            c.close()
        except socket.timeout:
            if p.poll() is not None:
                break
    p.kill()
    p.wait()
    print("-" if took is None else f"{took:.3f}")


def main() -> None:
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "push":
        push(args[0], args[1], args[2], int(args[3]))
    elif cmd == "layers":
        layers(args[0], args[1])
    elif cmd == "token":
        token(args[0], args[1])
    elif cmd == "first-request":
        first_request(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A TUF repository on loopback, shaped like Sigstore's, built and signed with python-tuf.

It publishes `trusted_root.json` and `signing_config.v0.2.json` (by default taken from a running test Sigstore
instance, tests/peers/sigstore/fake_sigstore.py --dir DIR) the way tuf-repo-cdn.sigstore.dev does: top-level
roles root, targets, snapshot and timestamp with ECDSA P-256 keys (`ecdsa-sha2-nistp256`), consistent
snapshots (`N.root.json`, `N.snapshot.json`, `N.targets.json`, an unversioned `timestamp.json`), and target
files named `targets/<sha256>.<name>`. Metadata is served from the base URL, targets from `<base>/targets/`.

State lives in one directory (--dir REPO):
  www/         what `serve` publishes (the mirror)
  root.json    the initial root (version 1): give it to clients as their trust anchor
               (`cosign initialize --mirror URL --root REPO/root.json`, `sigstore trust-instance`)
  keys/        the role keys, unencrypted PKCS#8 PEM (test keys: never use them for anything else)
  blobs/       the target files as published (for `repair`)
  history/     every timestamp.json ever published (for `rollback`)
  state.json   which keys hold which role, the good versions, the highest version used per role
  requests.log what `serve` was asked for, one line `METHOD PATH STATUS` per request

Subcommands (each prints one line of JSON describing the repository afterwards):
  init            new keys, version 1 of every role; targets from --from-sigstore/--target
  publish         new targets (added or replaced; --remove drops one) -> new targets, snapshot, timestamp
  rotate-root     root N+1 with fresh root keys (and --online: fresh timestamp/snapshot keys), signed by
                  a threshold of the old root keys and all new ones; snapshot and timestamp re-signed
  serve           plain HTTP on 127.0.0.1; prints `READY {"url": ..., "root": ...}`; exits when stdin
                  closes unless --no-stdin-watch
Attacks (each leaves the repository in a state a correct client must refuse; `repair` undoes them):
  expire-timestamp     a new timestamp version, correctly signed, that expired an hour ago
  rollback             serve an older, correctly signed version: --role timestamp (the previous
                       timestamp.json), snapshot (a new timestamp naming the previous snapshot) or targets
                       (a new snapshot and timestamp naming the previous targets)
  corrupt-target NAME  the served file of target NAME gets other bytes of the same length (its
                       metadata still names the real hash)
  root-below-threshold root N+1, otherwise valid, signed by one key fewer than the root threshold
  repair               drop unsigned roots, restore target files, publish a new snapshot and timestamp
                       naming the good targets

Needs python-tuf (`tuf`) and `securesystemslib` with `cryptography`: the sigstore-python venv has them
(scripts/peers.sh, install_sigstore_peers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import (
    MetaFile,
    Metadata,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

TRUSTED_ROOT = "trusted_root.json"
SIGNING_CONFIG = "signing_config.v0.2.json"
SPEC_VERSION = "1.0"  # what Sigstore's repository writes
EXPIRY = {"root": dt.timedelta(days=365), "targets": dt.timedelta(days=90),
          "snapshot": dt.timedelta(days=30), "timestamp": dt.timedelta(days=1)}
SERIALIZER = JSONSerializer(compact=False)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` so that a concurrent reader (the server) sees the old or the new file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Repo:
    def __init__(self, directory: str):
        self.dir = os.path.abspath(directory)
        self.www = os.path.join(self.dir, "www")
        self.state_path = os.path.join(self.dir, "state.json")
        self.state: dict = {}
        if os.path.exists(self.state_path):
            with open(self.state_path) as f:
                self.state = json.load(f)

    # ---------------------------------------------------------------------------------------- keys
    def new_key(self, role: str) -> str:
        n = self.state.setdefault("key_counter", 0) + 1
        self.state["key_counter"] = n
        name = f"{role}-{n}"
        signer = CryptoSigner.generate_ecdsa()
        write_atomic(os.path.join(self.dir, "keys", name + ".pem"), signer.private_bytes)
        return name

    def signer(self, name: str) -> CryptoSigner:
        with open(os.path.join(self.dir, "keys", name + ".pem"), "rb") as f:
            private = serialization.load_pem_private_key(f.read(), password=None)
        public = SSlibKey.from_crypto(private.public_key(), scheme="ecdsa-sha2-nistp256")
        return CryptoSigner(private, public)

    def role_signers(self, role: str) -> list[CryptoSigner]:
        return [self.signer(n) for n in self.state["roles"][role]["keys"]]

    # ------------------------------------------------------------------------------------ metadata
    def save_state(self) -> None:
        write_atomic(self.state_path, json.dumps(self.state, indent=2).encode())

    def bump(self, role: str) -> int:
        v = self.state["max_version"].get(role, 0) + 1
        self.state["max_version"][role] = v
        return v

    def sign_and_write(self, md: Metadata, signers: list[CryptoSigner], filename: str) -> bytes:
        md.signatures.clear()
        for s in signers:
            md.sign(s, append=True)
        data = md.to_bytes(SERIALIZER)
        write_atomic(os.path.join(self.www, filename), data)
        return data

    def build_root(self, version: int, expires: dt.datetime) -> Metadata[Root]:
        root = Root(version=version, spec_version=SPEC_VERSION, expires=expires, consistent_snapshot=True)
        for role, spec in self.state["roles"].items():
            for name in spec["keys"]:
                root.add_key(self.signer(name).public_key, role)
            root.roles[role].threshold = spec["threshold"]
        return Metadata(root)

    def write_targets(self, targets: dict[str, bytes]) -> int:
        """A new targets version listing `targets` (name -> bytes); the files go to www/targets/."""
        version = self.bump("targets")
        t = Targets(version=version, spec_version=SPEC_VERSION, expires=now() + EXPIRY["targets"])
        for name, data in sorted(targets.items()):
            info = TargetFile.from_data(name, data, ["sha256"])
            t.targets[name] = info
            write_atomic(os.path.join(self.www, "targets", f"{info.hashes['sha256']}.{name}"), data)
            write_atomic(os.path.join(self.dir, "blobs", name), data)
        self.sign_and_write(Metadata(t), self.role_signers("targets"), f"{version}.targets.json")
        self.state["good"]["targets"] = version
        self.state["good"]["target_names"] = sorted(targets)
        return version

    def write_snapshot(self, targets_version: int) -> int:
        version = self.bump("snapshot")
        s = Snapshot(version=version, spec_version=SPEC_VERSION, expires=now() + EXPIRY["snapshot"])
        s.meta["targets.json"] = MetaFile(version=targets_version)
        self.sign_and_write(Metadata(s), self.role_signers("snapshot"), f"{version}.snapshot.json")
        return version

    def write_timestamp(self, snapshot_version: int, expires: dt.datetime | None = None) -> int:
        version = self.bump("timestamp")
        ts = Timestamp(version=version, spec_version=SPEC_VERSION,
                       expires=expires or now() + EXPIRY["timestamp"],
                       snapshot_meta=MetaFile(version=snapshot_version))
        data = self.sign_and_write(Metadata(ts), self.role_signers("timestamp"), "timestamp.json")
        write_atomic(os.path.join(self.dir, "history", f"timestamp.{version}.json"), data)
        return version

    def mark_bad(self, role: str, version: int) -> None:
        """Remember that `version` of `role` was made by an attack (so `rollback` never serves it)."""
        self.state.setdefault("bad", {}).setdefault(role, []).append(version)

    def previous_good(self, role: str) -> int:
        """The newest version of `role` below the highest one that no attack made (0: none)."""
        bad = set(self.state.get("bad", {}).get(role, []))
        return next((v for v in range(self.state["max_version"][role] - 1, 0, -1) if v not in bad), 0)

    def current_targets(self) -> dict[str, bytes]:
        out = {}
        for name in self.state["good"]["target_names"]:
            with open(os.path.join(self.dir, "blobs", name), "rb") as f:
                out[name] = f.read()
        return out

    def summary(self) -> dict:
        return {
            "dir": self.dir,
            "www": self.www,
            "root": os.path.join(self.dir, "root.json"),
            "root_version": self.state["good"]["root"],
            "targets_version": self.state["good"]["targets"],
            "versions": self.state["max_version"],
            "targets": {
                name: hashlib.sha256(data).hexdigest() for name, data in self.current_targets().items()
            },
        }


def read_targets(args) -> dict[str, bytes]:
    """Targets named on the command line: --from-sigstore DIR (its trusted root and signing config),
    then --target NAME=FILE (which wins)."""
    out: dict[str, bytes] = {}
    if args.from_sigstore:
        for name in (TRUSTED_ROOT, SIGNING_CONFIG):
            path = os.path.join(args.from_sigstore, name)
            if not os.path.exists(path):
                sys.exit(f"make_repo: {path} not found (is --from-sigstore a fake_sigstore.py --dir?)")
            with open(path, "rb") as f:
                out[name] = f.read()
    for spec in args.target:
        name, sep, path = spec.partition("=")
        if not sep or not name or "/" in name:
            sys.exit(f"make_repo: --target wants NAME=FILE, got {spec!r}")
        with open(path, "rb") as f:
            out[name] = f.read()
    return out


# ---------------------------------------------------------------------------------------- commands


def cmd_init(repo: Repo, args) -> None:
    if os.path.exists(repo.state_path):
        sys.exit(f"make_repo: {repo.dir} already holds a repository")
    targets = read_targets(args)
    if not targets:
        sys.exit("make_repo: init needs targets (--from-sigstore DIR or --target NAME=FILE)")
    if not 1 <= args.root_threshold <= args.root_keys:
        sys.exit("make_repo: --root-threshold must be between 1 and --root-keys")
    repo.state = {"key_counter": 0, "max_version": {}, "good": {}, "roles": {}}
    repo.state["roles"] = {
        "root": {"keys": [repo.new_key("root") for _ in range(args.root_keys)], "threshold": args.root_threshold},
        "targets": {"keys": [repo.new_key("targets")], "threshold": 1},
        "snapshot": {"keys": [repo.new_key("snapshot")], "threshold": 1},
        "timestamp": {"keys": [repo.new_key("timestamp")], "threshold": 1},
    }
    version = repo.bump("root")
    data = repo.sign_and_write(repo.build_root(version, now() + EXPIRY["root"]),
                               repo.role_signers("root"), f"{version}.root.json")
    write_atomic(os.path.join(repo.dir, "root.json"), data)
    repo.state["good"]["root"] = version
    tv = repo.write_targets(targets)
    repo.write_timestamp(repo.write_snapshot(tv))
    repo.save_state()


def cmd_publish(repo: Repo, args) -> None:
    targets = repo.current_targets()
    targets.update(read_targets(args))
    for name in args.remove:
        targets.pop(name, None)
    tv = repo.write_targets(targets)
    repo.write_timestamp(repo.write_snapshot(tv))
    repo.save_state()


def cmd_rotate_root(repo: Repo, args) -> None:
    old = repo.role_signers("root")
    old_threshold = repo.state["roles"]["root"]["threshold"]
    roles = repo.state["roles"]
    roles["root"] = {"keys": [repo.new_key("root") for _ in range(args.root_keys or len(old))],
                     "threshold": args.root_threshold or old_threshold}
    if args.online:
        roles["snapshot"] = {"keys": [repo.new_key("snapshot")], "threshold": 1}
        roles["timestamp"] = {"keys": [repo.new_key("timestamp")], "threshold": 1}
    version = repo.state["good"]["root"] + 1
    repo.state["max_version"]["root"] = version
    # Signed by a threshold of the old root keys (clients chaining from N) and by every new one (N+1 itself).
    repo.sign_and_write(repo.build_root(version, now() + EXPIRY["root"]),
                        old[:old_threshold] + repo.role_signers("root"), f"{version}.root.json")
    repo.state["good"]["root"] = version
    repo.write_timestamp(repo.write_snapshot(repo.state["good"]["targets"]))
    repo.save_state()


def cmd_expire_timestamp(repo: Repo, args) -> None:
    snapshot = repo.state["max_version"]["snapshot"]
    repo.mark_bad("timestamp", repo.write_timestamp(snapshot, expires=now() - dt.timedelta(hours=1)))
    repo.save_state()


def cmd_rollback(repo: Repo, args) -> None:
    # Clients notice a rollback only below a version they have seen: refresh them before this attack.
    previous = repo.previous_good(args.role)
    if not previous:
        sys.exit(f"make_repo: rollback needs an earlier good {args.role} version: publish first")
    if args.role == "timestamp":
        # Serve an older timestamp unchanged (validly signed, still fresh, lower version).
        with open(os.path.join(repo.dir, "history", f"timestamp.{previous}.json"), "rb") as f:
            write_atomic(os.path.join(repo.www, "timestamp.json"), f.read())
    elif args.role == "snapshot":
        repo.mark_bad("timestamp", repo.write_timestamp(previous))  # a new timestamp naming an older snapshot
    else:
        snapshot = repo.write_snapshot(previous)  # a new snapshot naming older targets
        repo.mark_bad("snapshot", snapshot)
        repo.mark_bad("timestamp", repo.write_timestamp(snapshot))
    repo.save_state()


def cmd_corrupt_target(repo: Repo, args) -> None:
    data = repo.current_targets().get(args.name)
    if data is None:
        sys.exit(f"make_repo: no target {args.name!r}")
    # Same length, other bytes: only the hash check can catch it (flip the case of one letter, or else a byte).
    bad = bytearray(data)
    i = next((i for i, c in enumerate(bad) if chr(c).isalpha()), 0)
    bad[i] ^= 0x20 if chr(bad[i]).isalpha() else 0x01
    digest = hashlib.sha256(data).hexdigest()
    write_atomic(os.path.join(repo.www, "targets", f"{digest}.{args.name}"), bytes(bad))


def cmd_root_below_threshold(repo: Repo, args) -> None:
    threshold = repo.state["roles"]["root"]["threshold"]
    version = repo.state["good"]["root"] + 1
    repo.state["max_version"]["root"] = max(repo.state["max_version"]["root"], version)
    signers = repo.role_signers("root")[: threshold - 1]
    md = repo.build_root(version, now() + EXPIRY["root"])
    repo.sign_and_write(md, signers, f"{version}.root.json")  # no signature at all when the threshold is 1
    repo.save_state()


def cmd_repair(repo: Repo, args) -> None:
    good_root = repo.state["good"]["root"]
    for v in range(good_root + 1, repo.state["max_version"]["root"] + 1):
        path = os.path.join(repo.www, f"{v}.root.json")
        if os.path.exists(path):
            os.remove(path)
    repo.state["max_version"]["root"] = good_root
    for name, data in repo.current_targets().items():
        write_atomic(os.path.join(repo.www, "targets", f"{hashlib.sha256(data).hexdigest()}.{name}"), data)
    repo.write_timestamp(repo.write_snapshot(repo.state["good"]["targets"]))
    repo.save_state()


def cmd_serve(repo: Repo, args) -> None:
    if not os.path.isdir(repo.www):
        sys.exit(f"make_repo: {repo.www} not found: run init first")
    log_path = os.path.join(repo.dir, "requests.log")
    log_lock = threading.Lock()

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=repo.www, **kw)

        def list_directory(self, path):  # a mirror lists nothing
            self.send_error(404)
            return None

        def log_request(self, code="-", size="-"):
            with log_lock, open(log_path, "a") as f:
                f.write(f"{self.command} {urllib.parse.unquote(self.path)} {getattr(code, 'value', code)}\n")

        def log_message(self, fmt, *a):
            if args.verbose:
                sys.stderr.write("tuf-repo: " + (fmt % a) + "\n")

        def end_headers(self):
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}"
    sys.stdout.write("READY " + json.dumps({"url": url, **repo.summary()}) + "\n")
    sys.stdout.flush()
    if not args.no_stdin_watch:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, help_text):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--dir", required=True, help="the repository's state directory")
        sp.set_defaults(fn=fn)
        return sp

    def target_args(sp):
        sp.add_argument("--from-sigstore", metavar="DIR",
                        help=f"take {TRUSTED_ROOT} and {SIGNING_CONFIG} from a fake_sigstore.py --dir")
        sp.add_argument("--target", action="append", default=[], metavar="NAME=FILE", help="a target file")

    sp = add("init", cmd_init, "create keys and version 1 of every role")
    target_args(sp)
    sp.add_argument("--root-keys", type=int, default=3, help="number of root keys (3)")
    sp.add_argument("--root-threshold", type=int, default=2, help="root signature threshold (2)")
    sp = add("publish", cmd_publish, "publish new or changed targets")
    target_args(sp)
    sp.add_argument("--remove", action="append", default=[], metavar="NAME", help="drop a target")
    sp = add("rotate-root", cmd_rotate_root, "new root version with fresh root keys")
    sp.add_argument("--online", action="store_true", help="also rotate the timestamp and snapshot keys")
    sp.add_argument("--root-keys", type=int, default=0, help="number of new root keys (as before)")
    sp.add_argument("--root-threshold", type=int, default=0, help="new root threshold (as before)")
    add("expire-timestamp", cmd_expire_timestamp, "attack: a new timestamp that has expired")
    sp = add("rollback", cmd_rollback, "attack: serve an older version of a role")
    sp.add_argument("--role", choices=["timestamp", "snapshot", "targets"], default="timestamp")
    sp = add("corrupt-target", cmd_corrupt_target, "attack: a target file whose hash does not match")
    sp.add_argument("name", help="target name, e.g. trusted_root.json")
    add("root-below-threshold", cmd_root_below_threshold, "attack: a new root signed below threshold")
    add("repair", cmd_repair, "undo the attacks: a good snapshot and timestamp, no bad root")
    sp = add("serve", cmd_serve, "serve www/ on 127.0.0.1")
    sp.add_argument("--port", type=int, default=0, help="loopback port (0: a free one)")
    sp.add_argument("--no-stdin-watch", action="store_true", help="keep running when stdin closes")
    sp.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = p.parse_args()

    repo = Repo(args.dir)
    if args.cmd not in ("init",) and not repo.state:
        sys.exit(f"make_repo: no repository in {repo.dir}: run init first")
    args.fn(repo, args)
    if args.cmd != "serve":
        sys.stdout.write(json.dumps(repo.summary()) + "\n")


if __name__ == "__main__":
    main()

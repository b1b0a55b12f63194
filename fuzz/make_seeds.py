#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/TARGET/) from the test fixtures: the
BGP messages captured from gobgpd and bird2 (tests/fixtures/wire), the handoff messages of
src/handoff/tests/messages.rs, the shipped configuration files, and requests as batonctl and
the API's clients send them; the rows of the RFC 7606 table test become seeds of the `update`
target. Run from the repository root after a fixture changes; the files are committed."""

import json
import pathlib
import os
import re
import struct
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def bgp():
    kinds = {1: "open", 2: "update", 3: "notification", 5: "route_refresh"}
    for f in sorted((ROOT / "tests/fixtures/wire").glob("*.bin")):
        msg = f.read_bytes()
        # The first octet picks the codec context: 1 is 4-octet AS, no extended message.
        write("framing", f.stem, b"\x01" + msg + msg)
        kind = kinds.get(msg[18])
        if kind in ("open", "update"):
            write(kind, f.stem, b"\x01" + msg[19:])
        elif kind:
            write(kind, f.stem, msg[19:])
    # Cease/Hard Reset (RFC 8538) around Administrative Shutdown with a message (RFC 9003).
    write("notification", "hard_reset_shutdown", bytes.fromhex("06 09 06 02 03") + b"bye")
    write("notification", "hold_timer", bytes.fromhex("04 00"))
    # RFC 7606 cases: a malformed MP_REACH_NLRI, a flags conflict, an overrunning attribute.
    origin, as_path = "40010100", "40020602 01 fa56ea01"
    mp_reach = "800e1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001"
    update = {
        "mp_reach_v6": ("", origin + as_path + mp_reach, ""),
        "flags_conflict": ("", "c0010100" + as_path + "400304 c6120001", "18 c61201"),
    }
    for name, (withdrawn, attrs, nlri) in update.items():
        w, a = bytes.fromhex(withdrawn), bytes.fromhex(attrs)
        body = struct.pack(">H", len(w)) + w + struct.pack(">H", len(a)) + a + bytes.fromhex(nlri)
        write("update", name, b"\x01" + body)


def handoff():
    text = (ROOT / "src/handoff/tests/messages.rs").read_text()
    payloads = [re.sub(r"\s+", " ", m) for m in re.findall(r'br#"(.*?)"#', text, re.S)]
    for i, p in enumerate(payloads):
        body = p.encode()
        # The first octet is the read size.
        frame = struct.pack(">IB", len(body), 0) + body
        write("handoff", f"message_{i}", bytes([7]) + frame + frame)


def control():
    peer = {"address": "198.18.0.2", "remote_as": 65002}
    requests = [
        {"cmd": "neighbors"},
        {"cmd": "neighbor", "address": "198.18.0.2"},
        {"cmd": "adj-in", "address": "198.18.0.2", "family": "ipv6", "prefix": "2001:db8::/32"},
        {"cmd": "adj-out", "address": "2001:db8::2", "family": "ipv4-unicast"},
        {"cmd": "neighbor-add", "peer": peer},
        {"cmd": "neighbor-reset", "address": "198.18.0.2", "soft": True},
        {"cmd": "rib", "family": "ipv4", "prefix": "198.18.7.0/24"},
        {"cmd": "route-add", "routes": [{"prefix": "198.18.7.0/24", "communities": ["65001:100"]}]},
        {"cmd": "route-del", "prefixes": ["198.18.7.0/24"]},
        {"cmd": "reload", "dry_run": True},
        {"cmd": "upgrade", "timeout_secs": 30, "events": True},
        {"cmd": "status"},
    ]
    for i, r in enumerate(requests):
        write("control", f"{r['cmd']}_{i}", json.dumps(r).encode() + b"\n")


def config():
    for f in ["config/example.toml", "config/default.toml", "packaging/baton.toml"]:
        write("config", pathlib.Path(f).name, (ROOT / f).read_bytes())


def api():
    bodies = [
        (0, {"a": [1, 2.5, None, True, "x"], "b": {"c": -3}}),
        (1, {"address": "198.18.0.2", "remote_as": 65002, "families": ["ipv4", "ipv6"]}),
        (2, {"hold_time": 30, "passive": True}),
        (3, {"prefix": "198.18.7.0/24", "med": 78, "communities": ["65001:100", "no-export"]}),
        (3, {"routes": [{"prefix": "2001:db8:7::/48", "next_hop": "2001:db8::1"}]}),
        (4, {"prefixes": ["198.18.7.0/24", "2001:db8:7::/48"]}),
        (4, {"prefix": "198.18.7.0/24"}),
    ]
    for i, (which, body) in enumerate(bodies):
        write("api_body", f"body_{i}", bytes([which]) + json.dumps(body).encode())


def rfc7606_table():
    env = dict(os.environ, FUZZ_SEEDS=str(SEEDS / "update"))
    subprocess.run(["cargo", "test", "--lib", "rfc7606_malformed_update_table"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


bgp()
rfc7606_table()
handoff()
control()
config()
api()

#!/usr/bin/python3
"""Streams pre-encoded AddPathStreamRequest messages to a gobgpd's gRPC API.

This is how the start-up benchmark makes gobgpd originate N routes: gobgpd's config file cannot
hold routes and `gobgp global rib add` manages about 100 routes/s. The benchmark encodes the
requests itself (benches/startup/gobgp_origin.rs); this only carries them over gRPC, which needs
Debian's python3-grpcio and nothing else (no generated code: the bytes go as they are).

usage: gobgp_inject.py HOST:PORT FILE [--handshake]   (FILE: each request as a 4-byte big-endian
length, then the serialized message). Waits up to 60 s for the API, then streams, and exits 0
once gobgpd has accepted the whole stream. With --handshake (the API benchmark,
benches/startup/api.rs), it prints "ready" once connected, waits for a line on stdin before it
streams, and prints "done" when gobgpd has accepted everything: the caller times the stream
alone, without the interpreter's start-up.
"""

import struct
import sys

import grpc


def requests(path):
    with open(path, "rb") as f:
        data = f.read()
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        offset += 4
        yield data[offset : offset + length]
        offset += length


def main():
    api, path = sys.argv[1], sys.argv[2]
    handshake = sys.argv[3:] == ["--handshake"]
    # No proxy (the API is on the namespace's loopback), and retry the connection every 50 ms
    # rather than after gRPC's default 1 s backoff while gobgpd is starting.
    options = [
        ("grpc.enable_http_proxy", 0),
        ("grpc.initial_reconnect_backoff_ms", 50),
        ("grpc.min_reconnect_backoff_ms", 50),
        ("grpc.max_reconnect_backoff_ms", 100),
    ]
    with grpc.insecure_channel(api, options=options) as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
        add_path_stream = channel.stream_unary("/apipb.GobgpApi/AddPathStream")
        if handshake:
            # Read the whole file now, so that the timed part is the stream alone.
            stream = list(requests(path))
            print("ready", flush=True)
            if not sys.stdin.readline():
                sys.exit("gobgp_inject.py: stdin closed before the start")
            add_path_stream(iter(stream), timeout=3600)
            print("done", flush=True)
        else:
            add_path_stream(requests(path), timeout=3600)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Resident memory per idle agent session over TLS.

gateway-load speaks plain TCP only; this opens N WebSocket sessions over TLS
(Python's ssl module, no certificate check: loopback), each authenticated
with a token in the upgrade, holds them open, and prints the gateway's VmRSS
growth per session. Loopback only; it exits after the measurement and its
sessions close with it.

usage: bench/tls_sessions.py PORT SESSIONS GATEWAY_PID TOKEN
(a freshly started gateway with tls.cert_file and tls.key_file, and an agent
whose token is TOKEN: memory that earlier sessions freed would be reused and
hide the cost)
"""
import base64
import os
import socket
import ssl
import sys
import time


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_session(ctx, port, token):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /v1/agent HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: gw.agent.v1\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("the gateway closed the connection during the upgrade")
        got += chunk
    if not got.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("upgrade refused: " + got.split(b"\r\n")[0].decode())
    return s


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    port, n, pid, token = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    before = rss(pid)
    sessions = [open_session(ctx, port, token) for _ in range(n)]
    time.sleep(2)  # the hello frames and the sessions' timers settle
    after = rss(pid)
    print(f"{n} TLS sessions: {(after - before) / n:.0f} bytes per session "
          f"(RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB)")
    for s in sessions:
        s.close()


if __name__ == "__main__":
    main()

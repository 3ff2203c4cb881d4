#!/usr/bin/env python3
"""Collects sd_notify datagrams on a unix socket, one message per line
(newlines inside a message become '|'), until killed. Usage:
notify_listen.py SOCKET_PATH OUTPUT_FILE"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        data = sock.recv(65536)
        f.write(data.decode(errors="replace").strip().replace("\n", "|") + "\n")

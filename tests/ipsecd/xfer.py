#!/usr/bin/python3
"""xfer.py - a TCP transfer with a checksum, for ipsecd_netns.sh.

usage: xfer.py serve ADDR PORT          accept one connection, read to EOF,
                                        print "SHA256 BYTES"
       xfer.py send ADDR PORT BYTES SEED  send BYTES pseudo-random bytes drawn
                                        from SEED, print "SHA256 BYTES"
The data is SHAKE-256 of the seed and a block counter: no two blocks alike,
so a lost, repeated or reordered block changes the checksum."""
import hashlib
import socket
import sys

BLOCK = 65536


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(60)
    print("listening", file=sys.stderr, flush=True)
    c, _ = s.accept()
    c.settimeout(60)
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    print(h.hexdigest(), n)


def send(addr, port, total, seed):
    s = socket.create_connection((addr, port), timeout=60)
    h, n, i = hashlib.sha256(), 0, 0
    while n < total:
        b = hashlib.shake_256(b"%s:%d" % (seed.encode(), i)).digest(min(BLOCK, total - n))
        s.sendall(b)
        h.update(b)
        n += len(b)
        i += 1
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # wait for the server's close: everything arrived
    s.close()
    print(h.hexdigest(), n)


if len(sys.argv) == 4 and sys.argv[1] == "serve":
    serve(sys.argv[2], int(sys.argv[3]))
elif len(sys.argv) == 6 and sys.argv[1] == "send":
    send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
else:
    raise SystemExit(__doc__)

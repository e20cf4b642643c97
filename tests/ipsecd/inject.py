#!/usr/bin/python3
"""inject.py - send captured ESP-in-UDP frames again, as they were (replay)
or damaged (corrupt), on an interface: the hostile half of ipsecd_netns.sh.

usage: inject.py replay|corrupt PCAP IFACE SRC-ADDR
Frames of PCAP (Ethernet, libpcap format) that carry UDP to port 4500 from
SRC-ADDR with a non-zero SPI (ESP, not IKE) are sent on IFACE through an
AF_PACKET socket.  "corrupt" moves each sequence number far ahead (so the
replay check cannot be what stops it) and flips one ciphertext byte: only
the integrity check can catch it.  UDP checksums are made valid again (the
capture holds the sender's offloaded, partial ones), so the receiver's
kernel delivers every frame to the gateway.  Prints the number sent."""
import socket
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            endian = ">"
        else:
            raise SystemExit("inject.py: %s is not a pcap file" % path)
        if struct.unpack(endian + "I", hdr[20:24])[0] != 1:
            raise SystemExit("inject.py: not an Ethernet capture")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl, orig = struct.unpack(endian + "II", rec[8:16])
            data = f.read(incl)
            if incl == orig:  # only whole frames can be sent again
                yield bytearray(data)


def csum(data):
    if len(data) % 2:
        data = data + b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def esp_udp(f, src):
    """offsets (ip, udp) of an ESP-in-UDP frame from src, or None"""
    if len(f) < 14 + 20:
        return None
    et = struct.unpack("!H", f[12:14])[0]
    if et == 0x0800:
        ip, ihl = 14, (f[14] & 15) * 4
        if f[ip + 9] != 17 or socket.inet_ntop(socket.AF_INET, bytes(f[ip + 12:ip + 16])) != src:
            return None
        udp = ip + ihl
    elif et == 0x86DD:
        ip = 14
        if f[ip + 6] != 17 or socket.inet_ntop(socket.AF_INET6, bytes(f[ip + 8:ip + 24])) != src:
            return None
        udp = ip + 40
    else:
        return None
    if len(f) < udp + 16 or struct.unpack("!H", f[udp + 2:udp + 4])[0] != 4500:
        return None
    if f[udp + 8:udp + 12] == b"\0\0\0\0":  # non-ESP marker: IKE
        return None
    return ip, udp


def fix_udp(f, ip, udp):
    ulen = struct.unpack("!H", f[udp + 4:udp + 6])[0]
    f[udp + 6:udp + 8] = b"\0\0"
    if f[ip] >> 4 == 4:
        return  # zero: no checksum, allowed over IPv4
    pseudo = bytes(f[ip + 8:ip + 40]) + struct.pack("!IxxxB", ulen, 17)
    c = csum(pseudo + bytes(f[udp:udp + ulen])) or 0xFFFF
    f[udp + 6:udp + 8] = struct.pack("!H", c)


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("replay", "corrupt"):
        raise SystemExit(__doc__)
    mode, path, iface, src = sys.argv[1:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent = 0
    for f in frames(path):
        o = esp_udp(f, src)
        if o is None:
            continue
        ip, udp = o
        esp = udp + 8
        if mode == "corrupt":
            seq = struct.unpack("!I", f[esp + 4:esp + 8])[0]
            f[esp + 4:esp + 8] = struct.pack("!I", (seq + 100000) & 0xFFFFFFFF)
            f[esp + 8 + (len(f) - esp - 8) // 2] ^= 0x5A
        fix_udp(f, ip, udp)
        s.send(bytes(f))
        sent += 1
    print(sent)


main()

#!/usr/bin/python3
# ipsec_scapy.py DIR - the independent side of test_ipsec_scapy: reads the
# packets libocfipsec protected (DIR/ours.txt), and for each:
#   - opens it with scapy's SecurityAssociation and compares the result with
#     the cleartext, byte for byte;
#   - protects the cleartext with scapy, with the same sequence number and IV,
#     and compares with libocfipsec's bytes;
#   - protects the cleartext again with a later sequence number and scapy's
#     own random IV, for libocfipsec to open (DIR/theirs.txt).
# Where scapy 2.5 has no support, the script computes with the cryptography
# package directly: ESP with ESN and an HMAC (scapy leaves the high half of
# the sequence number out of the ICV, RFC 4303 2.2.1 puts it in), ESP
# NULL-GMAC (RFC 4543), which scapy does not have, and AES-GCM with 8 and
# 12-byte ICVs (scapy's AEAD path always uses 16).
# Exit status: 0 all agree, 1 a mismatch (listed), 77 scapy is not installed.
import sys

try:
    from scapy.all import IP, IPv6, UDP, raw
    from scapy.layers.ipsec import SecurityAssociation, ESP, AH
    from cryptography.hazmat.primitives import hmac, hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError as e:
    print("scapy (python3-scapy) is not installed: %s" % e)
    sys.exit(77)
import os
import struct
import zlib

ENC = {'aes-gcm-16': ('AES-GCM', 16), 'aes-gcm-12': ('AES-GCM', 12), 'aes-gcm-8': ('AES-GCM', 8),
       'aes-ccm-16': ('AES-CCM', 16), 'aes-ccm-8': ('AES-CCM', 8),
       'chacha20-poly1305': ('CHACHA20-POLY1305', 16), 'aes-cbc': ('AES-CBC', None),
       'aes-ctr': ('AES-CTR', None), '3des-cbc': ('3DES', None), 'null': ('NULL', None),
       'none': (None, None)}
AUTH = {'none': (None, None), 'hmac-sha1-96': ('HMAC-SHA1-96', hashes.SHA1),
        'hmac-sha2-256-128': ('SHA2-256-128', hashes.SHA256),
        'hmac-sha2-384-192': ('SHA2-384-192', hashes.SHA384),
        'hmac-sha2-512-256': ('SHA2-512-256', hashes.SHA512),
        'hmac-md5-96': ('HMAC-MD5-96', hashes.MD5)}
ICV = {'hmac-sha1-96': 12, 'hmac-sha2-256-128': 16, 'hmac-sha2-384-192': 24,
       'hmac-sha2-512-256': 32, 'hmac-md5-96': 12}


def ip_of(b):
    return IP(b) if b[0] >> 4 == 4 else IPv6(b)


def tunnel_header(prot):
    """The outer header scapy should use: libocfipsec's own, field by field."""
    p = ip_of(prot)
    if p.version == 4:
        return IP(src=p.src, dst=p.dst, tos=p.tos, id=p.id, flags=p.flags, ttl=p.ttl)
    return IPv6(src=p.src, dst=p.dst, tc=p.tc, fl=p.fl, hlim=p.hlim)


def make_sa(c, prot):
    proto = ESP if c['proto'] == 'esp' else AH
    cname, cicv = ENC[c['enc']]
    aname = AUTH[c['auth']][0]
    kw = dict(spi=int(c['spi']), auth_algo=aname,
              auth_key=bytes.fromhex(c['akey']) if aname else None)
    if proto is ESP:
        kw.update(crypt_algo=cname, crypt_key=bytes.fromhex(c['ekey']) or None)
        if cicv:
            kw['crypt_icv_size'] = cicv
        if c['udp'] == '1':
            kw['nat_t_header'] = UDP(sport=int(c['sport']), dport=int(c['dport']))
    if c['mode'] == 'tunnel':
        kw['tunnel_header'] = tunnel_header(prot)
    if c['esn'] == '1':
        kw['esn_en'] = True
    return SecurityAssociation(proto, **kw)


def esp_of(prot, c):
    """Offset of the ESP / AH header in a protected packet."""
    p = ip_of(prot)
    hl = 20 if p.version == 4 else 40
    return hl + (8 if c.get('udp') == '1' else 0)


def gcm_short(c, prot, clear, nseq):
    """AES-GCM with a short ICV: opens our packet and checks what is inside,
    then makes one with sequence number nseq and a random IV.  Returns that
    packet, or None when ours did not check out."""
    off = esp_of(prot, c)
    esp = prot[off:]
    n = int(c['enc'].rsplit('-', 1)[1])
    key = bytes.fromhex(c['ekey'])
    k, salt = key[:-4], key[-4:]
    seq = int(c['seq'])
    hi = struct.pack('!L', seq >> 32) if c['esn'] == '1' else b''
    dec = Cipher(algorithms.AES(k), modes.GCM(salt + esp[8:16], esp[-n:], min_tag_length=n))
    d = dec.decryptor()
    d.authenticate_additional_data(esp[:4] + hi + esp[4:8])
    try:
        pt = d.update(esp[16:-n]) + d.finalize()
    except Exception:
        return None
    pad = pt[-2]
    body = pt[:len(pt) - 2 - pad]
    hl = 0 if c['mode'] == 'tunnel' else (20 if clear[0] >> 4 == 4 else 40)
    if body != clear[hl:] or pt[len(pt) - 2 - pad:-2] != bytes(range(1, pad + 1)):
        return None
    iv = os.urandom(8)
    hi2 = struct.pack('!L', nseq >> 32) if c['esn'] == '1' else b''
    lo2 = struct.pack('!L', nseq & 0xffffffff)
    e = Cipher(algorithms.AES(k), modes.GCM(salt + iv)).encryptor()
    e.authenticate_additional_data(esp[:4] + hi2 + lo2)
    ct = e.update(pt) + e.finalize()
    return prot[:off] + esp[:4] + lo2 + iv + ct + e.tag[:n]


def manual_check(c, prot, clear):
    """ESP with ESN + HMAC, or NULL-GMAC: the ICV computed here."""
    off = esp_of(prot, c)
    seq = int(c['seq'])
    hi = struct.pack('!L', seq >> 32) if c['esn'] == '1' else b''
    if c['enc'] == 'null-aes-gmac':
        key = bytes.fromhex(c['ekey'])
        k, salt = key[:-4], key[-4:]
        esp = prot[off:]
        iv = esp[8:16]
        aad = esp[:4] + hi + esp[4:-16]
        tag = AESGCM(k).encrypt(salt + iv, b'', aad)
        return tag == esp[-16:]
    name = c['auth']
    n = ICV[name]
    esp = prot[off:]
    h = hmac.HMAC(bytes.fromhex(c['akey']), AUTH[name][1]())
    h.update(esp[:-n] + hi)
    return h.finalize()[:n] == esp[-n:]


def udp_len_fix(b, c):
    """scapy 2.5 writes 8 as the length of the UDP header of ESP in UDP (it
    measures the header before the ESP payload is attached); the datagram's
    real length goes there (RFC 768)."""
    if c.get('udp') != '1':
        return b
    hl = (b[0] & 15) * 4 if b[0] >> 4 == 4 else 40
    n = len(b) - hl
    return b[:hl + 4] + struct.pack('!H', n) + b[hl + 6:]


def sc_encrypt(sa, clear, seq, iv=None):
    """scapy's encrypt() treats sequence number 0 as "not given" and uses its
    own counter: set the counter too, so that 0 (ESN crossing 2^32) works."""
    sa.seq_num = seq & 0xffffffff
    kw = {'seq_num': seq & 0xffffffff, 'esn': seq >> 32}
    if iv is not None:
        kw['iv'] = iv
    return raw(sa.encrypt(ip_of(clear), **kw))


def manual_theirs(c, prot, clear, nseq):
    """A packet for libocfipsec in the cases scapy cannot make alone."""
    off = esp_of(prot, c)
    hi = struct.pack('!L', nseq >> 32) if c['esn'] == '1' else b''
    lo = struct.pack('!L', nseq & 0xffffffff)
    if c['enc'] == 'null-aes-gmac':
        # our packet's body is in the clear: a new number, IV and tag on it
        key = bytes.fromhex(c['ekey'])
        k, salt = key[:-4], key[-4:]
        esp = prot[off:]
        iv = os.urandom(8)
        body = esp[16:-16]
        aad = esp[:4] + hi + lo + iv + body
        tag = AESGCM(k).encrypt(salt + iv, b'', aad)
        return prot[:off] + esp[:4] + lo + iv + body + tag
    # scapy encrypts (its ICV leaves the high half out); the ICV is redone
    sa = make_sa(c, prot)
    b = udp_len_fix(sc_encrypt(sa, clear, nseq), c)
    n = ICV[c['auth']]
    h = hmac.HMAC(bytes.fromhex(c['akey']), AUTH[c['auth']][1]())
    h.update(b[off:-n] + hi)
    return b[:-n] + h.finalize()[:n]


def ipcomp(c, prot, clear, out):
    """IPcomp (no scapy layer): Python's zlib opens ours and makes one."""
    v4 = prot[0] >> 4 == 4
    hl = 20 if v4 else 40
    nhf = prot[9] if v4 else prot[6]
    tun = c['mode'] == 'tunnel'
    if nhf == 108:
        nh, cpi = prot[hl], struct.unpack('!H', prot[hl + 2:hl + 4])[0]
        data = zlib.decompressobj(-15).decompress(prot[hl + 4:])
        chl = 0 if tun else (20 if clear[0] >> 4 == 4 else 40)
        want_nh = (4 if clear[0] >> 4 == 4 else 41) if tun else (clear[9] if v4 else clear[6])
        ok = cpi == int(c['spi']) and nh == want_nh and data == clear[chl:]
        if ok and not tun:
            ok = prot[:hl][:2] == clear[:2]
        compressed = True
    else:
        # sent as it was: the whole packet (transport) or IP in IP (tunnel)
        ok = (prot[hl:] == clear) if tun else (prot == clear)
        compressed = False
    # one for libocfipsec: compressed by zlib at level 9
    if tun:
        outer = IP(prot[:20]) if v4 else IPv6(prot[:40])
        outer.remove_payload()
        if v4:
            outer.proto = 108
            del outer.len
            del outer.chksum
        else:
            outer.nh = 108
            del outer.plen
        nh = 4 if clear[0] >> 4 == 4 else 41
        body = clear
    else:
        outer = ip_of(clear)
        if outer.version == 4:
            nh = outer.proto
            outer.remove_payload()
            outer.proto = 108
            del outer.len
            del outer.chksum
        else:
            nh = outer.nh
            outer.remove_payload()
            outer.nh = 108
            del outer.plen
        body = clear[20 if clear[0] >> 4 == 4 else 40:]
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    comp = co.compress(body) + co.flush()
    from scapy.all import Raw
    theirs = raw(outer / Raw(struct.pack('!BBH', nh, 0, int(c['spi'])) + comp))
    out.write('%s %s %s\n' % (c['id'], theirs.hex(), clear.hex()))
    return ok, compressed


def main():
    d = sys.argv[1]
    bad = 0
    checked = {'decrypt': 0, 'encrypt': 0, 'manual': 0, 'udp6-csum': 0, 'ipcomp': 0,
               'ipcomp-compressed': 0}
    out = open(d + '/theirs.txt', 'w')
    for line in open(d + '/ours.txt'):
        c = dict(kv.split('=', 1) for kv in line.split())
        prot = bytes.fromhex(c['prot'])
        clear = bytes.fromhex(c['clear'])
        seq = int(c['seq'])
        hi, lo = seq >> 32, seq & 0xffffffff
        tag = '%s %s %s %s v%s udp=%s esn=%s size=%d' % (
            c['proto'], c['enc'], c['auth'], c['mode'], c['fam'], c['udp'], c['esn'], len(clear))
        if c['proto'] == 'ipcomp':
            ok, compressed = ipcomp(c, prot, clear, out)
            if not ok:
                print('MISMATCH ipcomp: %s' % tag)
                bad += 1
            checked['ipcomp'] += 1
            checked['ipcomp-compressed'] += compressed
            continue
        if c['enc'] in ('aes-gcm-8', 'aes-gcm-12'):
            theirs = gcm_short(c, prot, clear, seq + 1000)
            if theirs is None:
                print('MISMATCH gcm: %s' % tag)
                bad += 1
            else:
                out.write('%s %s %s\n' % (c['id'], theirs.hex(), clear.hex()))
            checked['manual'] += 1
            continue
        manual = c['enc'] == 'null-aes-gmac' or (
            c['proto'] == 'esp' and c['esn'] == '1' and c['auth'] != 'none')
        v6udp = c['udp'] == '1' and prot[0] >> 4 == 6
        if v6udp:
            # our checksum must be right; scapy writes 0, so compare without it
            p = IPv6(prot)
            want = p[UDP].chksum
            del p[UDP].chksum
            if IPv6(raw(p))[UDP].chksum != want:
                print('MISMATCH udp6 checksum: %s' % tag)
                bad += 1
            checked['udp6-csum'] += 1
            off = len(prot) - len(raw(p[UDP])) + 6
            prot_cmp = prot[:off] + b'\0\0' + prot[off + 2:]
        else:
            prot_cmp = prot
        if manual:
            if not manual_check(c, prot, clear):
                print('MISMATCH icv: %s' % tag)
                bad += 1
            checked['manual'] += 1
        if manual:
            out.write('%s %s %s\n' % (c['id'], manual_theirs(c, prot, clear, seq + 1000).hex(),
                                      clear.hex()))
        if c['enc'] != 'null-aes-gmac':
            sa = make_sa(c, prot)
            pk = ip_of(prot_cmp)
            dsa = sa
            if c['udp'] == '1' and c['mode'] == 'transport' and prot[0] >> 4 == 6:
                # scapy 2.5 cannot take ESP in UDP apart in IPv6 transport mode
                # (it sets the next header on the UDP layer): hand it the same
                # ESP bytes without the UDP header
                c2 = dict(c, udp='0')
                dsa = make_sa(c2, prot)
                hdr = bytearray(prot[:40])
                hdr[6] = 50
                hdr[4:6] = struct.pack('!H', len(prot) - 48)
                pk = IPv6(bytes(hdr) + prot[48:])
            try:
                got = dsa.decrypt(pk, verify=not manual, esn=hi)
            except Exception as e:
                print('MISMATCH decrypt %s: %s' % (tag, e))
                bad += 1
                continue
            if raw(got) != clear:
                print('MISMATCH cleartext: %s\n  got  %s\n  want %s' % (tag, raw(got).hex(),
                                                                       clear.hex()))
                bad += 1
            checked['decrypt'] += 1
            if not manual:
                iv = bytes.fromhex(c['iv']) if c['iv'] != '-' else None
                mine = udp_len_fix(sc_encrypt(sa, clear, seq, iv if c['proto'] == 'esp' else None),
                                   c)
                if mine != prot_cmp:
                    print('MISMATCH encrypt: %s\n  scapy %s\n  ours  %s' % (tag, mine.hex(),
                                                                           prot_cmp.hex()))
                    bad += 1
                checked['encrypt'] += 1
                # a packet for libocfipsec to open: a later number, scapy's IV
                theirs = udp_len_fix(sc_encrypt(sa, clear, seq + 1000), c)
                out.write('%s %s %s\n' % (c['id'], theirs.hex(), clear.hex()))
    out.close()
    print('scapy: %s; %d mismatches' % (', '.join('%s %d' % kv for kv in checked.items()), bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())

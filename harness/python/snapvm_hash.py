# snapvm_hash.py: pure-Python XXH3-64 (inputs over 240 bytes), XXH3-128 (over 16 bytes) and BLAKE3-256, the
# three hashes of the snapvm snapshot format, written from the algorithms' specifications so that
# the independent reader shares no code with the C++ side (which uses libxxhash and libblake3).
# Slow (about 1 MB/s) but snapshot headers are a few KiB and test blobs a few hundred KiB.
import struct

_M64 = (1 << 64) - 1

# XXH3 --------------------------------------------------------------------------------------------
_P32_1, _P32_2, _P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
_P64_1, _P64_2, _P64_3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P64_4, _P64_5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5

_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e")
_STRIPE = 64
_STRIPES_PER_BLOCK = (len(_SECRET) - _STRIPE) // 8  # 16
_BLOCK = _STRIPE * _STRIPES_PER_BLOCK  # 1024


def _words(b, off, n):
    return struct.unpack_from("<%dQ" % n, b, off)


_SECRET_STRIPE_KEYS = [_words(_SECRET, 8 * n, 8) for n in range(_STRIPES_PER_BLOCK)]
_SECRET_LAST_KEYS = _words(_SECRET, len(_SECRET) - _STRIPE - 7, 8)
_SECRET_SCRAMBLE = _words(_SECRET, len(_SECRET) - _STRIPE, 8)


def _accumulate_512(acc, data, off, keys):
    lanes = _words(data, off, 8)
    for i in range(8):
        v = lanes[i]
        k = v ^ keys[i]
        acc[i ^ 1] = (acc[i ^ 1] + v) & _M64
        acc[i] = (acc[i] + (k & 0xFFFFFFFF) * (k >> 32)) & _M64


def _scramble(acc):
    for i in range(8):
        a = acc[i]
        a ^= a >> 47
        a ^= _SECRET_SCRAMBLE[i]
        acc[i] = (a * _P32_1) & _M64


def _avalanche(h):
    h ^= h >> 37
    h = (h * 0x165667919E3779F9) & _M64
    return h ^ (h >> 32)


def _merge(acc, secret_off, start):
    keys = _words(_SECRET, secret_off, 8)
    r = start & _M64
    for i in range(4):
        p = (acc[2 * i] ^ keys[2 * i]) * (acc[2 * i + 1] ^ keys[2 * i + 1])
        r = (r + ((p & _M64) ^ (p >> 64))) & _M64
    return _avalanche(r)


def _long_accumulators(data):
    n = len(data)
    if n <= 240:
        raise ValueError("this XXH3 implements inputs over 240 bytes only (snapshot headers are >= 4096)")
    acc = [_P32_3, _P64_1, _P64_2, _P64_3, _P64_4, _P32_2, _P64_5, _P32_1]
    blocks = (n - 1) // _BLOCK
    for b in range(blocks):
        base = b * _BLOCK
        for s in range(_STRIPES_PER_BLOCK):
            _accumulate_512(acc, data, base + s * _STRIPE, _SECRET_STRIPE_KEYS[s])
        _scramble(acc)
    base = blocks * _BLOCK
    for s in range(((n - 1) - base) // _STRIPE):
        _accumulate_512(acc, data, base + s * _STRIPE, _SECRET_STRIPE_KEYS[s])
    _accumulate_512(acc, data, n - _STRIPE, _SECRET_LAST_KEYS)
    return acc


def xxh3_64(data):
    """XXH3-64 with seed 0 and the default secret."""
    data = bytes(data)
    acc = _long_accumulators(data)
    return _merge(acc, 11, len(data) * _P64_1)


def _mix16(data, off, secret_off):
    lo, hi = _words(data, off, 2)
    k0, k1 = _words(_SECRET, secret_off, 2)
    p = (lo ^ k0) * (hi ^ k1)
    return (p & _M64) ^ (p >> 64)


def _mix32(acc_lo, acc_hi, data, off1, off2, secret_off):
    a1, b1 = _words(data, off1, 2)
    a2, b2 = _words(data, off2, 2)
    acc_lo = ((acc_lo + _mix16(data, off1, secret_off)) & _M64) ^ ((a2 + b2) & _M64)
    acc_hi = ((acc_hi + _mix16(data, off2, secret_off + 16)) & _M64) ^ ((a1 + b1) & _M64)
    return acc_lo, acc_hi


def _mid_128(data):
    """XXH3-128 of 17..240 bytes (format 2's chunk roots can be that short)."""
    n = len(data)
    lo, hi = (n * _P64_1) & _M64, 0
    if n <= 128:
        for k in (3, 2, 1, 0):  # pairs from the middle out, as the reference's nested ifs
            if n > 32 * k:
                lo, hi = _mix32(lo, hi, data, 16 * k, n - 16 * (k + 1), 32 * k)
    else:
        for i in range(4):
            lo, hi = _mix32(lo, hi, data, 32 * i, 32 * i + 16, 32 * i)
        lo, hi = _avalanche(lo), _avalanche(hi)
        for i in range(4, n // 32):
            lo, hi = _mix32(lo, hi, data, 32 * i, 32 * i + 16, 3 + 32 * (i - 4))
        lo, hi = _mix32(lo, hi, data, n - 16, n - 32, 136 - 17 - 16)
    low = _avalanche((lo + hi) & _M64)
    high = (-_avalanche((lo * _P64_1 + hi * _P64_4 + n * _P64_2) & _M64)) & _M64
    return struct.pack(">QQ", high, low)


def xxh3_128(data):
    """XXH3-128 with seed 0, as its canonical 16 bytes (high half first, each big-endian)."""
    data = bytes(data)
    n = len(data)
    if n <= 16:
        raise ValueError("this XXH3-128 implements inputs over 16 bytes only")
    if n <= 240:
        return _mid_128(data)
    acc = _long_accumulators(data)
    low = _merge(acc, 11, n * _P64_1)
    high = _merge(acc, len(_SECRET) - _STRIPE - 11, ~(n * _P64_2) & _M64)
    return struct.pack(">QQ", high, low)


# BLAKE3 ------------------------------------------------------------------------------------------
_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_PERM = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8
_M32 = 0xFFFFFFFF


def _compress(cv, m, counter, block_len, flags):
    s = list(cv) + [_IV[0], _IV[1], _IV[2], _IV[3], counter & _M32, counter >> 32, block_len, flags]
    m = list(m)

    def g(a, b, c, d, x, y):
        s[a] = (s[a] + s[b] + x) & _M32
        t = s[d] ^ s[a]
        s[d] = ((t >> 16) | (t << 16)) & _M32
        s[c] = (s[c] + s[d]) & _M32
        t = s[b] ^ s[c]
        s[b] = ((t >> 12) | (t << 20)) & _M32
        s[a] = (s[a] + s[b] + y) & _M32
        t = s[d] ^ s[a]
        s[d] = ((t >> 8) | (t << 24)) & _M32
        s[c] = (s[c] + s[d]) & _M32
        t = s[b] ^ s[c]
        s[b] = ((t >> 7) | (t << 25)) & _M32

    for r in range(7):
        g(0, 4, 8, 12, m[0], m[1])
        g(1, 5, 9, 13, m[2], m[3])
        g(2, 6, 10, 14, m[4], m[5])
        g(3, 7, 11, 15, m[6], m[7])
        g(0, 5, 10, 15, m[8], m[9])
        g(1, 6, 11, 12, m[10], m[11])
        g(2, 7, 8, 13, m[12], m[13])
        g(3, 4, 9, 14, m[14], m[15])
        if r < 6:
            m = [m[p] for p in _PERM]
    return [s[i] ^ s[i + 8] for i in range(8)] + [s[i + 8] ^ cv[i] for i in range(8)]


def _chunk_output(chunk, counter):
    """(cv, last block words, counter, block_len, flags) of a chunk's last block, not yet compressed."""
    cv = _IV
    blocks = max(1, (len(chunk) + 63) // 64)
    for b in range(blocks):
        block = chunk[64 * b:64 * b + 64]
        flags = (_CHUNK_START if b == 0 else 0) | (_CHUNK_END if b == blocks - 1 else 0)
        words = struct.unpack("<16I", block.ljust(64, b"\0"))
        if b == blocks - 1:
            return (cv, words, counter, len(block), flags)
        cv = _compress(cv, words, counter, 64, flags)[:8]


def _tree_output(data, first_chunk):
    if len(data) <= 1024:
        return _chunk_output(data, first_chunk)
    chunks = (len(data) + 1023) // 1024
    left = 1 << ((chunks - 1).bit_length() - 1)  # largest power of two below chunks
    lo = _tree_output(data[:left * 1024], first_chunk)
    hi = _tree_output(data[left * 1024:], first_chunk + left)
    lcv = _compress(*lo)[:8]
    hcv = _compress(*hi)[:8]
    return (_IV, tuple(lcv) + tuple(hcv), 0, 64, _PARENT)


def blake3_256(data):
    """BLAKE3 with the default key, 32 bytes of output."""
    cv, words, counter, block_len, flags = _tree_output(bytes(data), 0)
    out = _compress(cv, words, counter, block_len, flags | _ROOT)
    return struct.pack("<8I", *out[:8])

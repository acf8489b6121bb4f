#!/usr/bin/env python3
"""Independent reference for llama2.c's tokenizer encode() (run.c), standard library only.

Usage: llama2c_tokenizer_ref.py TOKENIZER_BIN < inputs
Each input line is the text to encode, hex-encoded (so any bytes, newlines and invalid UTF-8
included, pass through unchanged). Each output line is the token ids of encode(text, bos=1, eos=0),
space-separated. tests/unit/test_tokenizer.cpp compares them with lowbit's C++ encoder.

Written from run.c's algorithm, deliberately naive (rescans every pair after each merge), so it
shares no code or data structure with the C++ version.
"""
import struct
import sys

NO_MERGE = struct.unpack("<f", struct.pack("<f", -1e10))[0]  # run.c: float best_score = -1e10


def load(path):
    data = open(path, "rb").read()
    (max_len,) = struct.unpack_from("<i", data, 0)
    off, vocab, scores = 4, [], []
    while off < len(data):
        score, length = struct.unpack_from("<fi", data, off)
        off += 8
        piece = data[off:off + length]
        off += length
        vocab.append(piece.split(b"\0", 1)[0])  # run.c keeps C strings
        scores.append(score)
    index = {}
    for i, piece in enumerate(vocab):
        index.setdefault(piece, i)
    return vocab, scores, index


def encode(text, vocab, scores, index):
    text = text.split(b"\0", 1)[0]
    tokens = [1]  # BOS
    if text:
        tokens.append(index[b" "])
    # Group a lead byte with up to three following continuation bytes, as run.c does.
    buf = b""
    for i, c in enumerate(text):
        if c & 0xC0 != 0x80:
            buf = b""
        buf += bytes([c])
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if nxt & 0xC0 == 0x80 and len(buf) < 4:
            continue
        if buf in index:
            tokens.append(index[buf])
        else:
            tokens.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best_score, best_id, best_idx = NO_MERGE, -1, -1
        for i in range(len(tokens) - 1):
            merged = vocab[tokens[i]] + vocab[tokens[i + 1]]
            j = index.get(merged, -1)
            if j != -1 and scores[j] > best_score:
                best_score, best_id, best_idx = scores[j], j, i
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


def main():
    vocab, scores, index = load(sys.argv[1])
    for line in sys.stdin:
        text = bytes.fromhex(line.strip())
        print(" ".join(str(t) for t in encode(text, vocab, scores, index)))


if __name__ == "__main__":
    main()

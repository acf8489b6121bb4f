#!/usr/bin/env python3
"""Independent reference for byte-level BPE encoding of a tokenizer.json, standard library only.

Usage: bpe_ref.py TOKENIZER_JSON < inputs
Each input line is the text to encode, hex-encoded; each output line is its token ids (no BOS),
space-separated. tests/unit/test_tokenizer.cpp compares them with lowbit's C++ encoder.

The BPE loop is OpenAI GPT-2's encoder.py algorithm (lowest-ranked bigram, all of its occurrences
merged left to right, repeat), not the heap the C++ code uses. Pre-tokenization is GPT-2's regex
written for ASCII (Python's re has no \\p{L}); on ASCII text it splits exactly as the original, so
only ASCII inputs may be given. Added tokens are cut out verbatim first (longest match first).
"""
import json
import re
import sys

WS = r" \t\n\r\f\v"
PAT = re.compile(rf"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^{WS}A-Za-z0-9]+|[{WS}]+(?![^{WS}])|[{WS}]+")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return set(zip(word, word[1:]))


class Encoder:
    def __init__(self, doc):
        model = doc["model"]
        self.vocab = model["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {}
        for i, m in enumerate(merges):
            self.ranks.setdefault(m, i)
        self.added = sorted(((t["content"], t["id"]) for t in doc.get("added_tokens") or []), key=lambda x: -len(x[0]))
        pre = doc["pre_tokenizer"]
        assert pre["type"] == "ByteLevel" and pre.get("use_regex", True), "only a plain ByteLevel pre-tokenizer"
        self.add_prefix_space = pre.get("add_prefix_space", False)
        self.byte_encoder = bytes_to_unicode()

    def bpe(self, token):
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return word
        while True:
            bigram = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        return word

    def encode_segment(self, text):
        ids = []
        if not text:
            return ids
        if self.add_prefix_space and not text.startswith(" "):
            text = " " + text
        for token in PAT.findall(text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.vocab[t] for t in self.bpe(token))
        return ids

    def encode(self, text):
        ids, start, i = [], 0, 0
        while i < len(text):
            hit = next(((c, t) for c, t in self.added if text.startswith(c, i)), None)
            if hit is None:
                i += 1
                continue
            ids += self.encode_segment(text[start:i]) + [hit[1]]
            i = start = i + len(hit[0])
        return ids + self.encode_segment(text[start:])


def main():
    enc = Encoder(json.load(open(sys.argv[1], encoding="utf-8")))
    for line in sys.stdin:
        text = bytes.fromhex(line.strip()).decode("ascii")
        print(" ".join(str(t) for t in enc.encode(text)))


if __name__ == "__main__":
    main()

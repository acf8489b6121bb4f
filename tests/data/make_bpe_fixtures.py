#!/usr/bin/env python3
"""Writes the three small tokenizer.json fixtures in tests/data/ (standard library only).

  gpt2_tiny_tokenizer.json   the vocabulary and merges of transformers' GPT2TokenizationTest
                             (tests/models/gpt2/test_tokenization_gpt2.py), in the tokenizer.json
                             layout GPT-2 uses (ByteLevel pre-tokenizer, add_prefix_space as in that test).
  qwen2_tiny_tokenizer.json  the vocabulary and merges of transformers' Qwen2TokenizationTest
                             (tests/models/qwen2/test_tokenization_qwen2.py), in Qwen2's layout
                             (NFC, Split with Qwen2's regex, ByteLevel without regex).
  bpe_trained_tokenizer.json byte-level BPE with 400 merges learned here from the TinyStories
                             sample, in OPT's layout (</s> as BOS through TemplateProcessing,
                             merges in the newer [a, b] form).

Usage: make_bpe_fixtures.py SHARED_DIR OUT_DIR. The outputs are committed; this script records how
they were made. Expected ids for the first two come from those transformers tests; the third is
checked against bpe_ref.py.
"""
import collections
import json
import os
import re
import sys

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# GPT-2's pattern restricted to ASCII (Python's re has no \p{..}); enough to pre-split training text.
ASCII_GPT2 = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^ \t\n\r\f\vA-Za-z0-9]+"
                        r"|[ \t\n\r\f\v]+(?![^ \t\n\r\f\v])|[ \t\n\r\f\v]+")


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


def byte_level(flags):
    return dict({"type": "ByteLevel"}, **flags)


def added(token_id, content, special=True):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def bpe_model(vocab, merges, unk=None):
    return {"type": "BPE", "dropout": None, "unk_token": unk, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": merges}


def gpt2_tiny():
    vocab = ["l", "o", "w", "e", "r", "s", "t", "i", "d", "n", "\u0120", "\u0120l", "\u0120n", "\u0120lo",
             "\u0120low", "er", "\u0120lowest", "\u0120newer", "\u0120wider", "<unk>", "<|endoftext|>"]
    merges = ["\u0120 l", "\u0120l o", "\u0120lo w", "e r"]
    bl = {"add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added(20, "<|endoftext|>")], "normalizer": None,
            "pre_tokenizer": byte_level(bl), "post_processor": byte_level(bl), "decoder": byte_level(bl),
            "model": bpe_model({t: i for i, t in enumerate(vocab)}, merges, unk="<unk>")}


def qwen2_tiny():
    vocab = list(bytes_to_unicode().values())
    vocab += ["\u0120l", "\u0120n", "\u0120lo", "\u0120low", "er", "\u0120lowest", "\u0120newer", "\u0120wider",
              "01", ";}", ";}\u010a", "\u00cf\u0135", "\u0120#", "##"]
    merges = ["\u0120 l", "\u0120l o", "\u0120lo w", "e r", "0 1", "; }", ";} \u010a", "\u00cf \u0135", "\u0120 #", "# #"]
    bl = {"add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added(270, "<|endoftext|>"), added(271, "<|im_start|>")],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
                byte_level(bl)]},
            "post_processor": byte_level(bl), "decoder": byte_level(bl),
            "model": bpe_model({t: i for i, t in enumerate(vocab)}, merges)}


def trained(corpus, n_merges=400):
    b2u = bytes_to_unicode()
    words = collections.Counter()
    for piece in ASCII_GPT2.findall(corpus):
        words[tuple(b2u[b] for b in piece.encode("utf-8"))] += 1
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for ch in b2u.values():
        vocab[ch] = len(vocab)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for word, count in words.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))  # most frequent, then smallest: deterministic
        merges.append(list(best))
        vocab.setdefault(best[0] + best[1], len(vocab))  # ("a","bc") and ("ab","c") make one token
        merged = collections.Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    bl = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    template = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added(i, t) for i, t in enumerate(specials)], "normalizer": None,
            "pre_tokenizer": byte_level(bl), "post_processor": template, "decoder": byte_level(bl),
            "model": bpe_model(vocab, merges)}


def main():
    shared, out = sys.argv[1], sys.argv[2]
    corpus = open(os.path.join(shared, "data/tinystories_sample/tinystories_sample.txt"), encoding="utf-8").read()
    fixtures = {"gpt2_tiny_tokenizer.json": gpt2_tiny(), "qwen2_tiny_tokenizer.json": qwen2_tiny(),
                "bpe_trained_tokenizer.json": trained(corpus.replace("<|endoftext|>", ""))}
    for name, doc in fixtures.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

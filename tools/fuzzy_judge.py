#!/usr/bin/env python3
"""Independent judge for fuzzy hashing: builds a corpus of related and
unrelated byte strings from a seed, hashes them with the reference
implementations (PyPI `ppdeep`, a port of ssdeep, and `py-tlsh`, TLSH's own
bindings), and prints one JSON object: the digests and the reference score or
distance of many pairs.   usage: fuzzy_judge.py SEED COUNT
"""
import json
import random
import sys

import ppdeep
import tlsh

seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
words = [bytes(rng.getrandbits(8) for _ in range(rng.randint(3, 12))) for _ in range(400)]


def document(size):
    return b"".join(rng.choice(words) for _ in range(size))


def mutate(data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 30)):
        if not data:
            data = bytearray(rng.choice(words))
        at = rng.randrange(len(data))
        kind = rng.random()
        if kind < 0.4:
            data[at:at + rng.randint(1, 40)] = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        elif kind < 0.7:
            data[at:at] = rng.choice(words) * rng.randint(1, 5)
        else:
            del data[at:at + rng.randint(1, 60)]
    return bytes(data)


samples = []
for _ in range(count):
    # Small samples get small block sizes, where ssdeep caps the score.
    base = document(rng.randint(8, 40) if rng.random() < 0.3 else rng.randint(100, 4000))
    family = [base] + [mutate(base) for _ in range(rng.randint(1, 4))]
    samples.extend(family)

digests = [{"ssdeep": ppdeep.hash(s), "tlsh": tlsh.hash(s)} for s in samples]
pairs = []
for _ in range(count * 20):
    i = rng.randrange(len(samples))
    j = i + rng.randint(0, 4) if rng.random() < 0.7 else rng.randrange(len(samples))
    j = min(j, len(samples) - 1)
    a, b = digests[i], digests[j]
    pair = {"a": i, "b": j, "ssdeep": ppdeep.compare(a["ssdeep"], b["ssdeep"])}
    if a["tlsh"] not in ("TNULL", "") and b["tlsh"] not in ("TNULL", ""):
        pair["tlsh"] = tlsh.diff(a["tlsh"], b["tlsh"])
    pairs.append(pair)
print(json.dumps({"digests": digests, "pairs": pairs}))

"""bench_state_size's content floor: the least any store could keep for a database's rows.
Content stored twice (a copy in another row, compressed or not) adds next to nothing to it;
new content adds about its own compressed size."""

from __future__ import annotations

import lzma
import random
import sqlite3
import zlib

from bench.bench_state_size import content_floor


def prose(seed: int, words: int = 3000) -> bytes:
    rng = random.Random(seed)
    vocabulary = [f"w{rng.randrange(5000)}" for _ in range(2000)]
    return " ".join(rng.choice(vocabulary) for _ in range(words)).encode()


def database(tmp_path, *texts: bytes, compressed: bool = False):
    db = tmp_path / f"{len(list(tmp_path.iterdir()))}.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE writes (id TEXT, value BLOB)")
    for i, text in enumerate(texts):
        conn.execute(
            "INSERT INTO writes VALUES (?, ?)",
            (f"row{i}", zlib.compress(text) if compressed else text),
        )
    conn.commit()
    conn.close()
    return db


def test_a_second_copy_costs_next_to_nothing_even_compressed(tmp_path):
    once = content_floor(database(tmp_path, prose(1)))
    twice = content_floor(database(tmp_path, prose(1), prose(1), compressed=True))
    assert twice - once < 0.05 * once


def test_new_content_costs_about_its_compressed_size(tmp_path):
    once = content_floor(database(tmp_path, prose(1)))
    both = content_floor(database(tmp_path, prose(1), prose(2)))
    alone = len(lzma.compress(prose(2), preset=9 | lzma.PRESET_EXTREME))
    assert both - once > 0.8 * alone

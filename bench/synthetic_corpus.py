"""A synthetic corpus for scale benchmarks: N Markdown documents of 300-1,500 words, generated
deterministically from a seed, fast enough for 50,000 documents (about 300 MB) in seconds.

Each document is about one of a few dozen topics (heat pumps, solar panels, ...): its title,
headings and a share of its words come from that topic's vocabulary, the rest from common
English words and a long tail of made-up words (a real corpus has a vocabulary of 100,000+
terms, which is what makes an index large). So a question about a topic has pages to find, and
most pages are not about it.

    python -m bench.synthetic_corpus DIR --docs 50000
"""

from __future__ import annotations

import argparse
import os
import random
import time
from itertools import accumulate
from pathlib import Path

DOCS_PER_FOLDER = 500
MIN_WORDS, MAX_WORDS = 300, 1500
TAIL_WORDS = 60_000
TOPIC_REPEAT = 4
TOPICS: dict[str, str] = {
    "heat pumps": "heat pump compressor refrigerant evaporator condenser coefficient performance "
    "thermostat defrost cycle outdoor unit indoor coil airflow ground source geothermal "
    "efficiency kilowatt heating cooling expansion valve",
    "solar panels": "solar panel photovoltaic inverter irradiance module silicon wafer rooftop "
    "array efficiency kilowatt peak battery storage grid tie shading mounting cell",
    "batteries": "battery lithium cathode anode electrolyte charge discharge capacity cycle "
    "degradation voltage cell pack thermal runaway separator chemistry",
    "wind turbines": "wind turbine blade rotor nacelle gearbox generator tower hub pitch yaw "
    "offshore onshore capacity factor gust wake",
    "insulation": "insulation thermal resistance fiberglass cellulose foam attic wall cavity "
    "vapour barrier draught loft conductivity retrofit",
    "databases": "database transaction index query table row column schema replication commit "
    "rollback isolation lock journal write ahead logging",
    "compilers": "compiler parser lexer token syntax tree optimisation register allocation "
    "bytecode intermediate representation linker inlining",
    "networking": "network packet router switch protocol latency bandwidth congestion "
    "handshake socket firewall address routing",
    "gardening": "garden soil compost seed seedling mulch pruning perennial annual fertiliser "
    "watering bed harvest",
    "bread baking": "bread dough flour yeast sourdough starter knead proof crust crumb oven "
    "gluten hydration",
    "coffee": "coffee bean roast grind espresso brew extraction crema arabica robusta "
    "grinder filter",
    "cycling": "bicycle frame gear chain derailleur saddle tyre pressure cadence brake wheel "
    "spoke",
    "beekeeping": "bee hive colony queen worker drone honey comb frame swarm nectar pollen",
    "volcanoes": "volcano magma lava eruption crater ash pyroclastic caldera tectonic plate "
    "vent",
    "tides": "tide moon gravity ocean spring neap current coastline estuary harbour",
    "photography": "camera lens aperture shutter exposure sensor focus iso depth field tripod",
    "cryptography": "encryption key cipher hash signature certificate public private nonce "
    "block stream authentication",
    "rivers": "river basin flood delta meander sediment erosion watershed tributary discharge",
    "glaciers": "glacier ice sheet moraine crevasse melt calving firn snowpack retreat",
    "sleep": "sleep circadian rhythm melatonin rem dream insomnia nap rest cycle brain",
    "vaccines": "vaccine immune antibody antigen dose booster trial adjuvant response cell",
    "electric cars": "electric vehicle charging range motor regenerative braking battery "
    "kilowatt hour charger plug",
    "recycling": "recycling plastic paper glass aluminium sorting landfill compost waste bin",
    "chess": "chess opening gambit endgame pawn knight bishop rook queen king checkmate",
}
COMMON = (
    "the of and to in is that it for as with was on be by this are from at or an have not "
    "which but they all can has more one their there been also when will would other about "
    "into than its some these time only new may used most such then many two first over "
    "system work part use well where after through each between both because under same "
    "while during level small large high low important common often usually however since "
    "change make found show need good long type process number point form way result "
    "design water air energy power temperature pressure cost year home house building people "
    "method value range rate control simple early later higher lower main different "
    "example case model design material surface layer amount source area order group"
).split()


def tail_words(rng: random.Random, n: int) -> list[str]:
    """Made-up words from syllables: the long tail of a real vocabulary."""
    onsets = "b c d f g h j k l m n p r s t v w z br cr dr fl gr pl st tr sh ch th".split()
    vowels = "a e i o u ai ea ou ie".split()
    codas = ["", "n", "r", "s", "l", "t", "m", "nd", "st", "rk"]
    words: set[str] = set()
    while len(words) < n:
        words.add(
            "".join(
                rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                for _ in range(rng.randint(2, 3))
            )
        )
    ordered = sorted(words)  # sets iterate in hash order: sort, then shuffle with the seed
    rng.shuffle(ordered)
    return ordered


class Generator:
    def __init__(self, seed: int = 15):
        rng = random.Random(seed)
        self.seed = seed
        self.tail = tail_words(rng, TAIL_WORDS)
        # Zipf-like: the n-th tail word is drawn with weight 1/n.
        self.tail_weights = list(accumulate(1 / (i + 1) for i in range(TAIL_WORDS)))
        self.topics = list(TOPICS)
        self.topic_words = {t: TOPICS[t].split() for t in self.topics}
        # A topic's words are about a third of the rest of its documents' words.
        self.mix = {t: words * TOPIC_REPEAT + COMMON for t, words in self.topic_words.items()}

    def document(self, n: int) -> tuple[str, str]:
        """Document n: (topic, Markdown text)."""
        rng = random.Random(self.seed * 1_000_003 + n)
        topic = self.topics[n % len(self.topics)]
        own = self.topic_words[topic]
        body = rng.choices(self.mix[topic], k=rng.randint(MIN_WORDS, MAX_WORDS))
        # Every fifth word from the long tail (fixed positions: cheaper than a shuffle, and
        # ranking does not care where a word stands).
        body[::5] = rng.choices(self.tail, cum_weights=self.tail_weights, k=len(body[::5]))
        title = f"{topic.title()}: {' '.join(rng.sample(own, 2))} notes {n}"
        lines = [f"# {title}", ""]
        sections = rng.randint(2, 6)
        per_section = max(1, len(body) // sections)
        for s in range(sections):
            chunk = body[s * per_section : (s + 1) * per_section if s < sections - 1 else None]
            if s:
                lines += [f"## {' '.join(rng.sample(own, 2)).capitalize()}", ""]
            lines.append(_paragraphs(rng, chunk))
            lines.append("")
        return topic, "\n".join(lines)

    def write(self, folder: Path, docs: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(docs):
            sub = folder / f"part-{n // DOCS_PER_FOLDER:03d}"
            if n % DOCS_PER_FOLDER == 0:
                sub.mkdir(exist_ok=True)
            _topic, text = self.document(n)
            (sub / f"doc-{n:05d}.md").write_text(text, encoding="utf-8")
        return folder


def _paragraphs(rng: random.Random, words: list[str]) -> str:
    """Sentences of 8-22 words, paragraphs of 3-7 sentences."""
    sentences, at = [], 0
    while at < len(words):
        length = rng.randint(8, 22)
        sentences.append(" ".join(words[at : at + length]).capitalize() + ".")
        at += length
    paragraphs, at = [], 0
    while at < len(sentences):
        length = rng.randint(3, 7)
        paragraphs.append(" ".join(sentences[at : at + length]))
        at += length
    return "\n\n".join(paragraphs)


def ensure_corpus(folder: Path, docs: int, seed: int = 15) -> tuple[Path, float]:
    """The corpus in folder, generated unless a complete one of this size and seed is there
    (a marker file beside the folder says so: inside, the harness would list it as skipped)."""
    marker = folder.with_name(f"{folder.name}.synthetic-{docs}-{seed}")
    if marker.exists():
        return folder, 0.0
    started = time.perf_counter()
    Generator(seed).write(folder, docs)
    marker.write_text("complete\n")
    return folder, time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--docs", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=15)
    args = p.parse_args()
    _folder, took = ensure_corpus(args.folder, args.docs, args.seed)
    size = sum(e.stat().st_size for d in os.scandir(args.folder) if d.is_dir()
               for e in os.scandir(d.path))
    print(f"{args.docs:,} documents, {size / 1e6:,.0f} MB in {args.folder} ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

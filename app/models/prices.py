"""What model tokens cost: an optional price table, `HARNESS_PRICE_TABLE` (a JSON or TOML file).

    {"gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.60},
     "gemma": {"input_per_million": 0, "output_per_million": 0}}

Keys are model names as the endpoint reports them (`model_name` of the chat model), prices in
US dollars per million tokens. A call whose model is not in the table, or any call when no table
is configured, is `unpriced`: the harness never guesses a price.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

PRICE_KEYS = ("input_per_million", "output_per_million")


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


@dataclass(frozen=True)
class PriceTable:
    prices: dict[str, Price]
    source: str | None = None

    def price_for(self, model: str | None) -> Price | None:
        return self.prices.get(model) if model else None

    @classmethod
    def empty(cls) -> PriceTable:
        return cls({})

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        if path is None:
            return cls.empty()
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = tomllib.loads(text) if Path(path).suffix == ".toml" else json.loads(text)
        except OSError as exc:
            raise InputError(f"cannot read price table {path}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"price table {path} is not valid: {exc}") from None
        if not isinstance(data, dict) or not data:
            raise InputError(f"price table {path}: expected an object of model -> prices")
        prices = {}
        for model, entry in data.items():
            values = entry if isinstance(entry, dict) else {}
            numbers = [values.get(k) for k in PRICE_KEYS]
            if set(values) != set(PRICE_KEYS) or not all(
                isinstance(n, int | float) and not isinstance(n, bool) and n >= 0 for n in numbers
            ):
                raise InputError(
                    f"price table {path}: {model!r} needs non-negative "
                    f"{' and '.join(PRICE_KEYS)} (US dollars per million tokens)"
                )
            prices[str(model)] = Price(float(numbers[0]), float(numbers[1]))
        return cls(prices, str(Path(path).resolve()))

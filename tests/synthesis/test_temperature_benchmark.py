"""The temperature benchmark's rows, on the tiny model (mechanics; the shipped
model's curve is in docs/temperature.md)."""
import pytest

from inade.benchmark.temperature import table, temperature_curve
from inade.synthesis import Synthesizer


@pytest.fixture(scope="module")
def rows(tiny_run):
    return temperature_curve(Synthesizer.from_pretrained(tiny_run), (0.0, 1.0), layouts=2, samples=2, seed=3)


def test_temperature_zero_has_no_diversity_and_one_has_some(rows):
    assert [row["temperature"] for row in rows] == [0.0, 1.0]
    assert rows[0]["diversity"] == 0.0 and rows[1]["diversity"] > 0.0
    assert all(0.0 <= row["miou"] <= 1.0 and row["nearest_real"] > 0 for row in rows)
    assert table(rows).splitlines()[2].startswith("| 0 | 0.00 |")

"""HdrHistograms of latencies in microseconds: one configuration, one encoding, one summary shape."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

from bench.rundir.steady import Percentiles

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is a hang, not a latency
SIGNIFICANT_DIGITS = 3


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_ms(histogram: HdrHistogram, milliseconds: float) -> None:
    """Record a latency given in milliseconds, clamped into the trackable range."""
    histogram.record_value(min(max(round(milliseconds * 1000.0), LOWEST_US), HIGHEST_US))


def histogram_of(milliseconds: Sequence[float]) -> HdrHistogram:
    """A histogram of many latencies at once: the same histogram as recording each, at a fraction of the cost.

    hdrh's own index arithmetic (HdrHistogram._counts_index_for), vectorized with numpy, then
    the counts added straight into its counts array; the scalar fields record_value keeps are
    set to what recording each value would have left (tests compare the two).
    """
    histogram = new_histogram()
    if not milliseconds:
        return histogram
    values = np.clip(np.rint(np.asarray(milliseconds, dtype=np.float64) * 1000.0), LOWEST_US, HIGHEST_US)
    values = values.astype(np.int64)
    bit_length = np.floor(np.log2(values | histogram.sub_bucket_mask)).astype(np.int64) + 1
    bucket = bit_length - (histogram.sub_bucket_half_count_magnitude + 1) - histogram.unit_magnitude
    sub_bucket = values >> (bucket + histogram.unit_magnitude)
    index = ((bucket + 1) << histogram.sub_bucket_half_count_magnitude) + (sub_bucket - histogram.sub_bucket_half_count)
    np.add.at(np.ctypeslib.as_array(histogram.counts), index, 1)
    histogram.total_count = len(values)
    histogram.min_value = int(values.min())
    histogram.max_value = int(values.max())
    return histogram


def encode(histogram: HdrHistogram) -> str:
    """The standard compressed, base64 HdrHistogram V2 encoding, as text."""
    encoded: bytes = histogram.encode()
    return encoded.decode("ascii")


def merged(encoded: Iterable[str]) -> HdrHistogram:
    total = new_histogram()
    for text in encoded:
        total.decode_and_add(text.encode("ascii"))
    return total


def percentile_key(percentile: float) -> str:
    return f"p{percentile:g}".replace(".", "")


@cache
def _bucket_values() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each counts index: the highest and the median value it stands for (as hdrh computes them)."""
    h = new_histogram()
    index = np.arange(h.counts_len, dtype=np.int64)
    bucket = (index >> h.sub_bucket_half_count_magnitude) - 1
    sub_bucket = (index & (h.sub_bucket_half_count - 1)) + h.sub_bucket_half_count
    first = bucket < 0
    sub_bucket[first] -= h.sub_bucket_half_count
    bucket[first] = 0
    lowest = sub_bucket << (bucket + h.unit_magnitude)
    width = np.left_shift(1, bucket + h.unit_magnitude)
    return lowest + width - 1, lowest + (width >> 1)


def histogram_values(histogram: HdrHistogram) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The recorded values (ms, each bucket's median as hdrh reports it) and how often each was seen."""
    counts = np.ctypeslib.as_array(histogram.counts)
    used = np.flatnonzero(counts)
    _, median = _bucket_values()
    return median[used] / 1000.0, counts[used].astype(np.int64)


def summary(histogram: HdrHistogram) -> Percentiles:
    """Count, mean, percentiles and max in milliseconds (zeros for an empty histogram).

    Computed with numpy over the counts, with hdrh's own definitions: its pure-Python
    get_mean_value and get_value_at_percentile cost milliseconds each, and the master
    summarizes every endpoint every second inside the load generator.
    """
    counts = np.ctypeslib.as_array(histogram.counts)
    count = int(counts.sum())
    if count == 0:
        return Percentiles(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    highest, median = _bucket_values()
    used = np.flatnonzero(counts)
    counts = counts[used]
    cumulative = np.cumsum(counts)

    def at(percentile: float) -> float:
        rank = max(math.floor(percentile / 100.0 * count + 0.5), 1)
        return int(highest[used[int(np.searchsorted(cumulative, rank))]]) / 1000.0

    return Percentiles(
        count=count,
        mean_ms=float((counts * median[used]).sum()) / count / 1000.0,
        p50_ms=at(50.0),
        p90_ms=at(90.0),
        p95_ms=at(95.0),
        p99_ms=at(99.0),
        p999_ms=at(99.9),
        max_ms=histogram.get_max_value() / 1000.0,
    )

"""Run several methods over a range of one setting, time them and report what was measured.

Chapter 3 asks how accuracy depends on the number of labels for three ways of transferring;
the chapter defines the three methods, :func:`sweep` runs each at every setting, and the
returned :class:`Sweep` prints, tabulates, plots and compares the results, so that the
chapter's prose can point at numbers the run itself produced.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .tables import Table


@dataclass
class Sweep:
    """Accuracy (a fraction) of each method at each value of the swept setting."""

    name: str                                  # the setting, e.g. "N"
    values: list
    accuracy: dict[str, list[float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)   # all values together

    def table(self) -> Table:
        header = [self.name, *self.accuracy]
        rows = [[str(v), *(f"{100 * accs[i]:.1f} %" for accs in self.accuracy.values())]
                for i, v in enumerate(self.values)]
        rows.append(["time", *(f"{self.seconds[m]:.0f} s" for m in self.accuracy)])
        return Table(header, rows)

    def compare(self, better: str, worse: str) -> str:
        """One sentence: at how many values ``better`` beat ``worse``, and by how much."""
        gaps = [100 * (a - b) for a, b in zip(self.accuracy[better], self.accuracy[worse])]
        ahead = sum(g > 0 for g in gaps)
        return (f"{better} vs {worse}: ahead at {ahead} of {len(gaps)} values of {self.name}, "
                f"by {min(gaps):+.1f} to {max(gaps):+.1f} points")

    def plot(self, xlabel: str, ylabel: str = "test accuracy (%)", title: str | None = None,
             chance: float | None = None, log_x: bool = True):
        import matplotlib.pyplot as plt

        from .plots import PAGE_WIDTH_IN
        fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN * 0.85, 4))
        for (label, accs), marker in zip(self.accuracy.items(), "osd^v"):
            ax.plot(self.values, [100 * a for a in accs], marker=marker, label=label)
        if chance is not None:
            ax.axhline(100 * chance, color="gray", ls=":", label="chance")
        if log_x:
            ax.set_xscale("log")
        ax.set_xticks(self.values, [str(v) for v in self.values])
        ax.minorticks_off()
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        return fig


def sweep(methods: dict[str, Callable[[object], float]], values: Sequence,
          name: str = "N") -> Sweep:
    """Run every method at every value (in order), printing one line per value as it ends."""
    result = Sweep(name, list(values), {m: [] for m in methods}, {m: 0.0 for m in methods})
    for value in values:
        for label, method in methods.items():
            start = time.perf_counter()
            result.accuracy[label].append(method(value))
            result.seconds[label] += time.perf_counter() - start
        print(f"{name} = {value:>4}: " + ", ".join(
            f"{label.split()[0]} {accs[-1]:.1%}" for label, accs in result.accuracy.items()))
    return result

"""What to do (the report's page 1), from stored findings: an action only where they support it."""

from __future__ import annotations

from typing import Any

from saferstreets.publishing.actions import _offenders


def _share(share: float, n: int) -> dict[str, Any]:
    half = 1.96 * (share * (1 - share) / n) ** 0.5  # a normal interval is enough for the test
    return {"share": share, "lower": share - half, "upper": share + half, "count": round(share * n)}


def _outcomes(districts: dict[str, tuple[float, int]]) -> dict[str, Any]:
    n = sum(size for _, size in districts.values())
    charged = sum(share * size for share, size in districts.values()) / n
    return {
        "outcomes": {
            "overall": {
                "n": n,
                "charged": _share(charged, n),
                "unable_to_prosecute": _share(0.55, n),
                "no_suspect": _share(0.2, n),
            },
            "groups": ["charged", "unable_to_prosecute", "no_suspect"],
            "by_area": [
                {"code": code, "charged": _share(share, size)}
                for code, (share, size) in districts.items()
            ],
        }
    }


def test_offenders_names_only_districts_wholly_below_the_county() -> None:
    names = {"D1": "Ashdale", "D2": "Brook", "D3": "Carrow"}.__getitem__
    # Ashdale's interval lies wholly below the county's rate; Brook's straddles it
    action = _offenders(
        _outcomes({"D1": (0.02, 4000), "D2": (0.07, 300), "D3": (0.09, 4000)}), names
    )
    assert action is not None
    assert action.where == "Ashdale" and action.what.endswith("where outcomes are weakest")
    assert any(e.startswith("Ashdale: 2%") for e in action.evidence)
    assert "The commonest outcome: unable to prosecute the suspect, 55%" in " ".join(
        action.evidence
    )
    # no district below beyond chance: the whole force, and the title names no place
    even = _offenders(_outcomes({"D1": (0.05, 4000), "D2": (0.05, 4000)}), names)
    assert even is not None and even.where == "the whole force"
    assert "where outcomes are weakest" not in even.what
    assert "No district's rate is below the county's beyond chance" in " ".join(even.evidence)

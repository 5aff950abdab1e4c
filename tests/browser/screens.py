"""The two screens every page is looked at on: a 390 px phone (``new_page``'s default, from
``conftest.PHONE``) and a desktop. One home for them, so that every browser test means the same."""

from __future__ import annotations

from typing import Any

DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 900},
    "is_mobile": False,
    "has_touch": False,
}
SIZES: dict[str, dict[str, Any]] = {"phone": {}, "desktop": DESKTOP}

"""Copy front-end assets from node_modules (npm packages) into the git-ignored static/vendor."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "src" / "saferstreets" / "web" / "static" / "vendor"
FILES = {
    "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
    "leaflet/dist/images": "leaflet/images",
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    # the street map: vector tiles from our own PMTiles archive, drawn on canvas (basemap.js)
    "protomaps-leaflet/dist/protomaps-leaflet.js": "protomaps/protomaps-leaflet.js",
    "@protomaps/basemaps/dist/basemaps.js": "protomaps/basemaps.js",
    "protomaps-leaflet/LICENSE": "protomaps/LICENSE-protomaps-leaflet",
}


def main() -> int:
    modules = ROOT / "node_modules"
    missing = [src for src in FILES if not (modules / src).exists()]
    if missing:
        print(f"missing in node_modules: {', '.join(missing)}; run 'npm ci' first", file=sys.stderr)
        return 1
    for src, dest in FILES.items():
        target = VENDOR / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if (modules / src).is_dir():
            shutil.copytree(modules / src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(modules / src, target)
    print(f"front-end assets in {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

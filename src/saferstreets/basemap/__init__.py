"""The basemap: streets and place labels drawn under every map, from tiles served by our origin.

A PMTiles archive of vector tiles in the Protomaps basemap schema (layers ``earth``, ``landuse``,
``water``, ``roads``, ``places``, ``pois``) is served with HTTP range requests from
``/tiles/basemap.pmtiles`` (``routes.py``); the browser draws it with protomaps-leaflet, the PDF
briefings decode the same tiles (``tiles.py``). No third party learns which streets anyone looks
at. A force installs an extract of the Protomaps build for its area; the demo county writes its
own (``saferstreets.demo.streets``).
"""

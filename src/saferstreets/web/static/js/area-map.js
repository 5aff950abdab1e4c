// Draws the GeoJSON named by data-geojson on every .map element; boundaries are the base map.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  document.querySelectorAll(".map[data-geojson]").forEach(function (el) {
    var map = L.map(el, { attributionControl: true, zoomSnap: 0.25 });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) { L.tileLayer(tiles, { attribution: el.getAttribute("data-attribution") || "" }).addTo(map); }
    fetch(el.getAttribute("data-geojson"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#3d3a6b", weight: 1, fillColor: f.properties.fill || "#8e88c9", fillOpacity: f.properties.opacity || 0.25 };
          },
          onEachFeature: function (f, l) {
            var label = document.createElement("span");
            label.textContent = f.properties.name + (f.properties.label ? ": " + f.properties.label : "");
            l.bindTooltip(label);
          }
        }).addTo(map);
        if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
      });
  });
})();

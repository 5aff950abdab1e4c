// The workspace map: hot spots, reports counted by cell and local issues, from the page's own
// GeoJSON downloads (so the map always shows what downloads, for the same filter).
(function () {
  "use strict";
  if (typeof L === "undefined" || !window.saferstreetsBasemap) { return; }
  var el = document.getElementById("ws-map-canvas");
  if (!el) { return; }
  var map = L.map(el, { zoomSnap: 0.25 });
  // streets from our own origin at the bottom; cells, then hot spots, then issues above them
  var bm = window.saferstreetsBasemap(map);
  map.setView([52, -1], 9);
  function get(attr) {
    return fetch(el.getAttribute(attr), { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }
  function tip(text) { var span = document.createElement("span"); span.textContent = text; return span; }
  Promise.all([get("data-cells"), get("data-hotspots"), get("data-issues")]).then(function (layers) {
    var cells = layers[0], hot = layers[1], issues = layers[2];
    var top = 1;
    cells.features.forEach(function (f) { top = Math.max(top, f.properties.reports); });
    var bounds = L.latLngBounds([]);
    var cellLayer = L.geoJSON(cells, {
      pane: bm.panes.areas,
      style: function (f) { return { color: "#3d3a6b", weight: 1, fillColor: "#3d3a6b", fillOpacity: 0.08 + 0.5 * f.properties.reports / top }; },
      onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties.reports + " reports")); }
    }).addTo(map);
    var hotLayer = L.geoJSON(hot, {
      pane: bm.panes.hotspots,
      style: function (f) { return { color: f.properties.colour, weight: 2, fillColor: f.properties.colour, fillOpacity: 0.55 }; },
      onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties.label + (f.properties.where ? ", " + f.properties.where : ""))); }
    }).addTo(map);
    var issueLayer = L.geoJSON(issues, {
      pointToLayer: function (f, ll) { return L.circleMarker(ll, { pane: bm.panes.bases, radius: 6, color: "#ffffff", weight: 1.5, fillColor: "#1b1a2e", fillOpacity: 1 }); },
      onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties.title + " (" + f.properties.stage + ")")); }
    }).addTo(map);
    [cellLayer, hotLayer, issueLayer].forEach(function (layer) {
      if (layer.getLayers().length) { bounds.extend(layer.getBounds()); }
    });
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20] }); }
    bm.layers({ "Hot and cold spots": hotLayer, "Reports by cell": cellLayer, "Local issues": issueLayer });
  });
})();

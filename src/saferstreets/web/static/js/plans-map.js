// Plan map: wards shaded by ward officers, bases with their reach, hotspots. Boundaries are the base map.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  var el = document.getElementById("plan-map");
  if (!el) { return; }
  var map = L.map(el, { zoomSnap: 0.25 });
  var tiles = el.getAttribute("data-tiles");
  if (tiles) { L.tileLayer(tiles, { attribution: el.getAttribute("data-attribution") || "" }).addTo(map); }
  function label(f) {
    var span = document.createElement("span");
    span.textContent = f.properties.name + (f.properties.label ? ": " + f.properties.label : "");
    return span;
  }
  fetch(el.getAttribute("data-plan-geojson"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var wards = L.geoJSON({ type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.kind === "ward"; }) }, {
        style: function (f) { return { color: "#3d3a6b", weight: 1, fillColor: "#5a4fcf", fillOpacity: f.properties.opacity }; },
        onEachFeature: function (f, l) { l.bindTooltip(label(f)); }
      }).addTo(map);
      // A view first: circles need the map's projection when they are added.
      if (wards.getBounds().isValid()) { map.fitBounds(wards.getBounds()); } else { map.setView([52, -1], 9); }
      var points = [];
      var group = L.featureGroup().addTo(map);
      data.features.forEach(function (f) {
        if (f.geometry.type !== "Point") { return; }
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        points.push(ll);
        if (f.properties.kind === "base") {
          L.circle(ll, { radius: f.properties.radius, color: "#1b1a33", weight: 1.5, dashArray: "4 3", fillOpacity: 0.06 }).addTo(group);
          L.circleMarker(ll, { radius: 7, color: "#1b1a33", fillColor: "#1b1a33", fillOpacity: 1 }).bindTooltip(label(f)).addTo(group);
        } else if (f.properties.kind === "hotspot") {
          L.circleMarker(ll, { radius: 3, color: "#c0392b", fillColor: "#c0392b", fillOpacity: 0.9 }).bindTooltip(label(f)).addTo(group);
        }
      });
      if (points.length) { map.fitBounds(L.latLngBounds(points), { padding: [30, 30] }); }
    });
})();

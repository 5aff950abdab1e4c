// Plan map over the street map (basemap.js): wards shaded by extra ward officers, each base's
// reach as a dashed circle, hot spots as red dots, bases as open dark squares on top (a hot spot
// at a base shows through its square). Each kind has
// its own pane, so at any zoom the bases are never hidden under hot spots, nor either under wards.
(function () {
  "use strict";
  if (typeof L === "undefined" || !window.saferstreetsBasemap) { return; }
  var el = document.getElementById("plan-map");
  if (!el) { return; }
  var map = L.map(el, { zoomSnap: 0.25 });
  var bm = window.saferstreetsBasemap(map);
  var BASE = "#1b1a33", HOT = "#c0392b", WARD = "#5a4fcf";
  function label(f) {
    var span = document.createElement("span");
    span.textContent = f.properties.name + (f.properties.label ? ": " + f.properties.label : "");
    return span;
  }
  fetch(el.getAttribute("data-plan-geojson"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var wards = L.geoJSON({ type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.kind === "ward"; }) }, {
        pane: bm.panes.areas,
        style: function (f) { return { color: "#3d3a6b", weight: 1, fillColor: WARD, fillOpacity: 0.03 + 0.25 * f.properties.opacity }; },
        onEachFeature: function (f, l) { l.bindTooltip(label(f)); }
      }).addTo(map);
      // A view first: circles need the map's projection when they are added.
      if (wards.getBounds().isValid()) { map.fitBounds(wards.getBounds()); } else { map.setView([52, -1], 9); }
      var points = [];
      var reach = L.featureGroup().addTo(map), hotspots = L.featureGroup().addTo(map), bases = L.featureGroup().addTo(map);
      data.features.forEach(function (f) {
        if (f.geometry.type !== "Point") { return; }
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        points.push(ll);
        if (f.properties.kind === "base") {
          L.circle(ll, { pane: bm.panes.areas, radius: f.properties.radius, color: BASE, weight: 1.5, dashArray: "4 3",
                         fillOpacity: 0.04, interactive: false }).addTo(reach);
          var icon = L.divIcon({ className: "plan-base", iconSize: [16, 16], html: "" });
          L.marker(ll, { pane: bm.panes.bases, icon: icon, keyboard: false }).bindTooltip(label(f)).addTo(bases);
        } else if (f.properties.kind === "hotspot") {
          L.circleMarker(ll, { pane: bm.panes.hotspots, radius: 4, color: "#ffffff", weight: 1, fillColor: HOT,
                               fillOpacity: 0.95 }).bindTooltip(label(f)).addTo(hotspots);
        }
      });
      bm.legend([
        { shape: "open-square", colour: BASE, weight: 3, label: "Team base" },
        { shape: "outline", colour: BASE, weight: 1.5, dash: "4 3", label: "Base's reach" },
        { shape: "dot", colour: HOT, stroke: "#ffffff", label: "Hot spot for patrols" },
        { shape: "fill", colour: WARD, fillOpacity: 0.2, stroke: "#3d3a6b", label: "Ward (darker: more ward officers)" }
      ]);
      bm.layers({ "Team bases": bases, "Reach of bases": reach, "Hot spots": hotspots, "Wards": wards });
      if (points.length) { map.fitBounds(L.latLngBounds(points), { padding: [30, 30] }); }
    });
})();

// Draws the GeoJSON named by data-geojson on every .map element. Boundaries are the base map:
// data-base names a GeoJSON of area outlines drawn underneath (the wards around), data-focus the
// code of the area the page is about, which the map is fitted to and outlined more strongly
// (data-fit="geojson" fits it to what data-geojson draws instead).
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }

  function load(url) {
    if (!url) { return Promise.resolve(null); }
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; });
  }

  function tooltip(layer, text) {
    var label = document.createElement("span");
    label.textContent = text;
    layer.bindTooltip(label);
  }

  document.querySelectorAll(".map[data-geojson]").forEach(function (el) {
    var map = L.map(el, { attributionControl: true, zoomSnap: 0.25 });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) { L.tileLayer(tiles, { attribution: el.getAttribute("data-attribution") || "" }).addTo(map); }
    var focus = el.getAttribute("data-focus");
    Promise.all([load(el.getAttribute("data-base")), load(el.getAttribute("data-geojson"))])
      .then(function (both) {
        var base = both[0], data = both[1], focusBounds = null;
        if (base) {
          L.geoJSON(base, {
            style: function (f) {
              var mine = focus && f.properties.code === focus;
              return { className: "boundary", color: mine ? "#1d1a4b" : "#6b6890", weight: mine ? 3 : 1,
                       dashArray: mine ? null : "4 3", fill: !mine, fillColor: "#ffffff", fillOpacity: mine ? 0 : 0.35 };
            },
            onEachFeature: function (f, l) {
              if (f.properties.name) { tooltip(l, f.properties.name); }
              if (focus && f.properties.code === focus) { focusBounds = l.getBounds(); }
            }
          }).addTo(map);
        }
        var layer = L.geoJSON(data || { type: "FeatureCollection", features: [] }, {
          style: function (f) {
            return { className: base ? "cell" : "", color: "#3d3a6b", weight: 1,
                     fillColor: f.properties.fill || "#8e88c9", fillOpacity: f.properties.opacity || 0.25 };
          },
          onEachFeature: function (f, l) {
            tooltip(l, f.properties.name + (f.properties.label ? ": " + f.properties.label : ""));
          }
        }).addTo(map);
        var bounds = focusBounds || (layer.getBounds().isValid() ? layer.getBounds() : null);
        // data-fit="geojson": fit to what is drawn (an issue's place), not the whole ward.
        if (el.getAttribute("data-fit") === "geojson" && layer.getBounds().isValid()) {
          map.fitBounds(layer.getBounds().pad(0.6), { maxZoom: 17 });
          return;
        }
        if (!focusBounds && base) {
          var all = L.geoJSON(base).getBounds();
          if (all.isValid()) { bounds = bounds ? bounds.extend(all) : all; }
        }
        if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); }
      });
  });
})();

// Draws the GeoJSON named by data-geojson on every .map element, over the street map
// (basemap.js). data-base names a GeoJSON of area outlines drawn under the shading (the wards
// around), data-focus the code of the area the page is about, which the map is fitted to and
// outlined more strongly (data-fit="geojson" fits it to what data-geojson draws instead);
// data-cells-label says what the shading is, for the key.
(function () {
  "use strict";
  if (typeof L === "undefined" || !window.saferstreetsBasemap) { return; }

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
    var bm = window.saferstreetsBasemap(map);
    var streets = !!bm.streets;
    var focus = el.getAttribute("data-focus");
    Promise.all([load(el.getAttribute("data-base")), load(el.getAttribute("data-geojson"))])
      .then(function (both) {
        var base = both[0], data = both[1], focusBounds = null, outlines = null;
        if (base) {
          outlines = L.geoJSON(base, {
            pane: bm.panes.areas,
            style: function (f) {
              var mine = focus && f.properties.code === focus;
              // Over streets the outlines are not filled, so the streets stay readable.
              return { className: "boundary", color: mine ? "#1d1a4b" : "#6b6890", weight: mine ? 3 : 1.5,
                       dashArray: mine ? null : "4 3", fill: !mine && !streets, fillColor: "#ffffff",
                       fillOpacity: mine ? 0 : 0.35 };
            },
            onEachFeature: function (f, l) {
              if (f.properties.name) { tooltip(l, f.properties.name); }
              if (focus && f.properties.code === focus) { focusBounds = l.getBounds(); }
            }
          }).addTo(map);
        }
        var fill = "#8e88c9";
        // Over streets the shading is lighter (same order: darker is still more), so the
        // streets under the busiest area can still be read.
        var shade = function (op) { return op ? (streets ? 0.05 + 0.35 * op : op) : (streets ? 0.15 : 0.25); };
        var layer = L.geoJSON(data || { type: "FeatureCollection", features: [] }, {
          pane: bm.panes.hotspots,
          style: function (f) {
            fill = f.properties.fill || fill;
            return { className: base ? "cell" : "", color: "#3d3a6b", weight: 1,
                     fillColor: f.properties.fill || "#8e88c9", fillOpacity: shade(f.properties.opacity) };
          },
          onEachFeature: function (f, l) {
            tooltip(l, f.properties.name + (f.properties.label ? ": " + f.properties.label : ""));
          }
        }).addTo(map);
        var items = [];
        var overlays = {};
        if (focus && base) {
          items.push({ shape: "outline", colour: "#1d1a4b", weight: 3, label: "This ward" });
        }
        if (base) {
          items.push({ shape: "outline", colour: "#6b6890", weight: 1.5, dash: "4 3", label: focus ? "Wards around" : "Wards" });
          overlays[focus ? "Wards" : "Ward outlines"] = outlines;
        }
        var cellsLabel = el.getAttribute("data-cells-label") || (base ? "Reports made here (darker: more)" : "Areas");
        items.push({ shape: "fill", colour: fill, stroke: "#3d3a6b", fillOpacity: 0.5, label: cellsLabel });
        overlays[cellsLabel] = layer;
        bm.legend(items);
        bm.layers(overlays);
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

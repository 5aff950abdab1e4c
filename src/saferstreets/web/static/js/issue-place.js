// Drawing an issue's place on the map: each tap adds a corner; the corners go to the form as
// [[lat, lon], ...]. Without JavaScript the form still takes streets and places by name.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  var el = document.getElementById("place-draw");
  var input = document.getElementById("place-polygon");
  var tools = document.getElementById("place-draw-tools");
  var status = document.getElementById("place-draw-status");
  if (!el || !input || !tools) { return; }
  tools.hidden = false;
  var map = null, bm = null, corners = [], drawn = null;

  function redraw() {
    if (drawn) { map.removeLayer(drawn); drawn = null; }
    if (corners.length >= 3) {
      drawn = L.polygon(corners, { pane: pane(), color: "#3d3a6b", weight: 2, fillColor: "#8e88c9", fillOpacity: 0.35 });
    } else if (corners.length) {
      drawn = L.polyline(corners, { pane: pane(), color: "#3d3a6b", weight: 2, dashArray: "4 3" });
    }
    if (drawn) { drawn.addTo(map); }
    input.value = corners.length >= 3 ? JSON.stringify(corners) : "";
    status.textContent = corners.length === 0 ? "No corners yet." :
      corners.length + (corners.length === 1 ? " corner" : " corners") +
      (corners.length < 3 ? ": at least 3 are needed." : ": ready to set.");
  }

  function pane() { return bm ? bm.panes.areas : "overlayPane"; }

  function start() {
    if (map) { map.invalidateSize(); return; }
    map = L.map(el, { zoomSnap: 0.25 });
    map.setView([51.8, -0.2], 12);
    // the street map under it, from our own origin, and its key
    bm = window.saferstreetsBasemap ? window.saferstreetsBasemap(map) : null;
    if (bm) {
      bm.legend([
        { shape: "outline", colour: "#1d1a4b", weight: 3, label: "This ward" },
        { shape: "fill", colour: "#8e88c9", stroke: "#3d3a6b", fillOpacity: 0.35, label: "The place you draw" }
      ]);
    }
    var focus = el.getAttribute("data-focus"), base = el.getAttribute("data-base");
    if (base) {
      fetch(base, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var bounds = null;
          L.geoJSON(data, {
            pane: pane(),
            interactive: false,
            style: function (f) {
              var mine = f.properties.code === focus;
              return { color: mine ? "#1d1a4b" : "#6b6890", weight: mine ? 3 : 1, dashArray: mine ? null : "4 3", fill: false };
            },
            onEachFeature: function (f, l) { if (f.properties.code === focus) { bounds = l.getBounds(); } }
          }).addTo(map);
          if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); }
        });
    }
    map.on("click", function (e) {
      corners.push([Math.round(e.latlng.lat * 1e6) / 1e6, Math.round(e.latlng.lng * 1e6) / 1e6]);
      redraw();
    });
  }

  var details = el.closest("details");
  if (details) {
    details.addEventListener("toggle", function () { if (details.open) { start(); } });
    if (details.open) { start(); }
  } else { start(); }
  document.getElementById("place-undo").addEventListener("click", function () { corners.pop(); if (map) { redraw(); } });
  document.getElementById("place-clear").addEventListener("click", function () { corners = []; if (map) { redraw(); } });
})();

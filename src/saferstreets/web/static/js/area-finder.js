// "Find your area" by tapping the map: the tap goes to /areas?lat=..&lon=.., which opens the
// page of the ward there (the point is not kept). Without JavaScript the map stays hidden and
// the search by postcode, street or place does the same.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  var wrap = document.getElementById("area-finder-wrap");
  var el = document.getElementById("area-finder");
  var status = document.getElementById("finder-status");
  if (!wrap || !el) { return; }
  wrap.hidden = false;
  var map = L.map(el, { zoomSnap: 0.25 });
  el.leafletMap = map;  // for the browser tests, which tap a known point
  // the street map under it, from our own origin, and its key
  var bm = window.saferstreetsBasemap ? window.saferstreetsBasemap(map) : null;
  if (bm) { bm.legend([{ shape: "outline", colour: "#1d1a4b", weight: 1.5, label: "Wards: tap one to open its page" }]); }
  map.setView([51.8, -0.2], 10);
  fetch(el.getAttribute("data-base"), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      var layer = L.geoJSON(data, {
        pane: bm ? bm.panes.areas : "overlayPane",
        interactive: false,
        style: function () { return { color: "#1d1a4b", weight: 1.5, fillColor: "#ffffff", fillOpacity: 0.15 }; },
        onEachFeature: function (f, l) {
          if (!f.properties.name) { return; }
          var label = document.createElement("span");
          label.textContent = f.properties.name;
          l.bindTooltip(label, { permanent: true, direction: "center", className: "ward-label" });
        }
      }).addTo(map);
      map.on("zoomend", function () { labelsThatFit(layer); });
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [8, 8] }); }
      labelsThatFit(layer);
      el.setAttribute("data-ready", "true");
    });
  // A ward's name shows only where it fits inside the ward's box at this zoom: at a county's
  // zoom a hundred names otherwise pile up into one unreadable block. Zooming in shows more.
  function labelsThatFit(layer) {
    layer.eachLayer(function (ward) {
      var tip = ward.getTooltip();
      if (!tip) { return; }
      var b = ward.getBounds();
      var nw = map.latLngToContainerPoint(b.getNorthWest()), se = map.latLngToContainerPoint(b.getSouthEast());
      if (!ward.isTooltipOpen()) { ward.openTooltip(); }
      var label = tip.getElement();
      if (!label || label.offsetWidth > se.x - nw.x || label.offsetHeight > se.y - nw.y) { ward.closeTooltip(); }
    });
  }
  map.on("click", function (e) {
    var lat = Math.round(e.latlng.lat * 1e5) / 1e5, lon = Math.round(e.latlng.lng * 1e5) / 1e5;
    L.circleMarker([lat, lon], { radius: 7, color: "#b10e1e", weight: 3, fill: false }).addTo(map);
    if (status) { status.textContent = "Opening the page of the ward there…"; }
    window.location.assign("/areas?lat=" + encodeURIComponent(lat) + "&lon=" + encodeURIComponent(lon));
  });
})();

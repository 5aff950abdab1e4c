// The report form, better with JavaScript: a map to pin the place over the street map, whose
// tiles come from our own origin (basemap.js), "use my location" only when tapped, and a
// character count.
// Without JavaScript (or Leaflet) the form works as a plain two-step place search.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }

  // Character count for "in your own words".
  var text = document.getElementById("free_text");
  var count = document.getElementById("free_text-count");
  if (text && count) {
    var max = parseInt(text.getAttribute("maxlength"), 10) || 2000;
    var update = function () {
      var left = max - text.value.length;
      count.textContent = left + " characters left";
    };
    count.hidden = false;
    text.addEventListener("input", update);
    update();
  }

  var block = document.getElementById("map-block");
  var el = document.getElementById("report-map");
  var lat = document.getElementById("latitude");
  var lon = document.getElementById("longitude");
  var status = document.getElementById("pin-status");
  var clear = document.getElementById("clear-pin");
  var locate = document.getElementById("use-location");
  if (!block || !el || typeof L === "undefined" || !window.saferstreetsBasemap) { return; }

  block.hidden = false;
  var placeLabel = document.getElementById("place_text-label");
  if (placeLabel && placeLabel.getAttribute("data-with-map")) {
    placeLabel.textContent = placeLabel.getAttribute("data-with-map");
  }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: true }).setView([51.8, -0.25], 9);
  var bm = window.saferstreetsBasemap(map);
  var tiles = !!bm.streets;
  var marker = null;
  var boundary = null;

  function say(message) { if (status) { status.textContent = message; } }

  function setPin(latlng, how) {
    var la = Math.round(latlng.lat * 1e6) / 1e6;
    var lo = Math.round(latlng.lng * 1e6) / 1e6;
    if (!marker) {
      marker = L.marker([la, lo], { draggable: true, keyboard: true, title: "Your pin", alt: "Pin for the place" }).addTo(map);
      marker.on("dragend", function () { setPin(marker.getLatLng(), "moved"); });
    } else {
      marker.setLatLng([la, lo]);
    }
    lat.value = String(la);
    lon.value = String(lo);
    if (clear) { clear.hidden = false; }
    var area = boundary ? areaAt(la, lo) : "";
    var text = how === "location" ? "A pin is at your location" : how === "moved" ? "The pin was moved" : "A pin is on the map";
    if (area === null) {
      text += ". This looks outside the area we cover; we can only take reports inside it.";
    } else {
      text += area ? ", in " + area + "." : ".";
    }
    say(text);
  }

  // The name of the boundary area a point is in; null when it is in none of them.
  function areaAt(la, lo) {
    var found = null;
    boundary.eachLayer(function (layer) {
      if (found !== null || !layer.getBounds || !layer.getBounds().contains([la, lo])) { return; }
      if (pointInLayer(layer, la, lo)) {
        found = (layer.feature && layer.feature.properties && layer.feature.properties.name) || "";
      }
    });
    return found;
  }

  function pointInRing(ring, la, lo) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var yi = ring[i].lat, xi = ring[i].lng, yj = ring[j].lat, xj = ring[j].lng;
      if (((yi > la) !== (yj > la)) && (lo < (xj - xi) * (la - yi) / (yj - yi) + xi)) { inside = !inside; }
    }
    return inside;
  }

  function pointInLayer(layer, la, lo) {
    var rings = layer.getLatLngs();
    // Polygon: [outer, hole...]; MultiPolygon: [[outer, hole...], ...]
    var polys = (rings.length && rings[0].length && Array.isArray(rings[0][0])) ? rings : [rings];
    for (var p = 0; p < polys.length; p++) {
      var poly = polys[p];
      if (!poly.length || !pointInRing(poly[0], la, lo)) { continue; }
      var hole = false;
      for (var h = 1; h < poly.length; h++) { if (pointInRing(poly[h], la, lo)) { hole = true; break; } }
      if (!hole) { return true; }
    }
    return false;
  }

  function loadBoundaries(url, fallback) {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/geo+json, application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        if (!data || !data.features || !data.features.length) { throw new Error("empty"); }
        boundary = L.geoJSON(data, {
          interactive: false,
          pane: bm.panes.areas,
          style: function () { return { color: "#3d3a6b", weight: 1.5, fillColor: "#e8e6f4", fillOpacity: tiles ? 0.05 : 0.6 }; }
        }).addTo(map);
        if (boundary.getBounds().isValid() && !marker) { map.fitBounds(boundary.getBounds()); }
        bm.layers({ "Area we cover": boundary });
        if (marker) { setPin(marker.getLatLng(), "moved"); }
      })
      .catch(function () { if (fallback) { loadBoundaries(fallback, null); } });
  }
  loadBoundaries(el.getAttribute("data-geojson"), el.getAttribute("data-fallback-geojson"));
  bm.legend([
    { shape: "outline", colour: "#3d3a6b", weight: 1.5, label: "Area we cover" },
    { shape: "pin", colour: "#2a81cb", stroke: "#1f5f96", label: "Your pin (tap the map)" }
  ]);

  if (lat.value && lon.value && !isNaN(parseFloat(lat.value))) {
    setPin(L.latLng(parseFloat(lat.value), parseFloat(lon.value)), "restored");
    map.setView(marker.getLatLng(), 15);
  }
  map.on("click", function (e) { setPin(e.latlng, "tap"); });

  if (clear) {
    clear.addEventListener("click", function () {
      if (marker) { map.removeLayer(marker); marker = null; }
      lat.value = ""; lon.value = "";
      clear.hidden = true;
      say("The pin was removed.");
    });
  }

  if (locate) {
    if (!("geolocation" in navigator)) { locate.hidden = true; return; }
    // Only on an explicit tap; the position goes into this form and nowhere else.
    locate.addEventListener("click", function () {
      say("Finding your location…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var here = L.latLng(pos.coords.latitude, pos.coords.longitude);
        setPin(here, "location");
        map.setView(here, 16);
      }, function () {
        say("Your location could not be found. Tap the map or type a place name instead.");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 });
    });
  }
})();

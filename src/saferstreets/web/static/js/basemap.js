// The street map under every map, from our own origin, and what every map shares: the panes that
// keep layers in order, a legend and a layer list. One call per map:
//
//   var bm = saferstreetsBasemap(map);            // streets and labels at the bottom
//   L.geoJSON(data, { pane: bm.panes.areas });     // areas above the streets
//   L.circleMarker(ll, { pane: bm.panes.hotspots });
//   L.marker(ll, { pane: bm.panes.bases });        // bases on top of everything else
//   bm.legend([{ shape: "fill", colour: "#8e88c9", label: "Wards" }]);
//   bm.layers({ "Wards": wards });
//
// The server says which basemap to draw in this script's data attributes: a PMTiles archive at
// /tiles/basemap.pmtiles (protomaps-leaflet draws its vector tiles on canvas, labels included),
// an external raster tile URL the force configured, or none (boundaries alone).
(function () {
  "use strict";
  var script = document.currentScript;
  var config = {
    kind: script ? script.getAttribute("data-kind") : "none",
    url: script ? script.getAttribute("data-url") : "",
    attribution: script ? script.getAttribute("data-attribution") || "" : "",
    maxZoom: script ? parseInt(script.getAttribute("data-max-zoom"), 10) || 14 : 14
  };
  // Leaflet shows attribution as HTML; ours is plain text.
  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  // Labels the default style leaves out or shows late: neighbourhood names, main roads from
  // zoom 11 (a ward's page), other streets from zoom 13 (an issue's place), stations, bus
  // stops and parks.
  function extraLabels(flavor) {
    var P = window.protomapsL;
    var kind = function (kinds) { return function (z, f) { return kinds.indexOf(f.props.kind) >= 0; }; };
    return [
      { dataLayer: "places", minzoom: 12, maxzoom: 15, filter: kind(["neighbourhood"]),
        symbolizer: new P.CenteredTextSymbolizer({ labelProps: ["name"], fill: "#5d5a78", stroke: "#ffffff",
          width: 2, font: "600 11px sans-serif", textTransform: "uppercase", letterSpacing: 1 }) },
      { dataLayer: "pois", minzoom: 13, filter: kind(["station", "bus_station", "mall"]),
        symbolizer: new P.GroupSymbolizer([
          new P.CircleSymbolizer({ radius: 4, fill: "#1d1a4b", stroke: "#ffffff", width: 1.5 }),
          new P.OffsetTextSymbolizer({ labelProps: ["name"], fill: "#1d1a4b", stroke: "#ffffff", width: 2,
            offsetX: 7, offsetY: 4, font: "600 12px sans-serif" })]) },
      { dataLayer: "roads", minzoom: 11, filter: kind(["major_road"]),
        symbolizer: new P.LineLabelSymbolizer({ labelProps: ["name"], fill: flavor.roads_label_major,
          stroke: flavor.roads_label_major_halo, width: 2, font: "600 12px sans-serif" }) },
      { dataLayer: "roads", minzoom: 13, filter: kind(["minor_road", "path"]),
        symbolizer: new P.LineLabelSymbolizer({ labelProps: ["name"], fill: flavor.roads_label_minor,
          stroke: flavor.roads_label_minor_halo, width: 2, font: "400 12px sans-serif" }) },
      { dataLayer: "pois", minzoom: 15, filter: kind(["park"]),
        symbolizer: new P.CenteredTextSymbolizer({ labelProps: ["name"], fill: "#2e6b34", stroke: "#ffffff",
          width: 2, font: "italic 400 12px sans-serif" }) },
      { dataLayer: "pois", minzoom: 16, filter: kind(["bus_stop"]),
        symbolizer: new P.GroupSymbolizer([
          new P.CircleSymbolizer({ radius: 3, fill: "#0b6e8a", stroke: "#ffffff", width: 1 }),
          new P.OffsetTextSymbolizer({ labelProps: ["name"], fill: "#0b6e8a", stroke: "#ffffff", width: 2,
            offsetX: 6, offsetY: 4, font: "400 11px sans-serif" })]) }
    ];
  }

  function streets(map) {
    var attribution = escapeText(config.attribution);
    if (config.kind === "pmtiles" && window.protomapsL && window.basemaps) {
      var flavor = window.basemaps.namedFlavor("light");
      return window.protomapsL.leafletLayer({
        url: config.url, maxDataZoom: config.maxZoom, attribution: attribution,
        paintRules: window.protomapsL.paintRules(flavor),
        labelRules: extraLabels(flavor).concat(window.protomapsL.labelRules(flavor, "en")),
        backgroundColor: flavor.background
      }).addTo(map);
    }
    if (config.kind === "raster" && config.url) {
      return L.tileLayer(config.url, { attribution: attribution, maxZoom: 19 }).addTo(map);
    }
    return null;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function swatch(item) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", "22"); svg.setAttribute("height", "14");
    svg.setAttribute("viewBox", "0 0 22 14"); svg.setAttribute("aria-hidden", "true");
    var shape;
    if (item.shape === "pin") {  // Leaflet's marker: a teardrop with a white dot
      shape = document.createElementNS(SVG, "path");
      shape.setAttribute("d", "M11 13.5C8 9.5 6.5 7.5 6.5 5a4.5 4.5 0 0 1 9 0c0 2.5-1.5 4.5-4.5 8.5z");
      var g = document.createElementNS(SVG, "g");
      var hole = document.createElementNS(SVG, "circle");
      hole.setAttribute("cx", "11"); hole.setAttribute("cy", "5"); hole.setAttribute("r", "1.6");
      hole.setAttribute("fill", "#ffffff");
      shape.setAttribute("fill", item.colour); shape.setAttribute("stroke", item.stroke || item.colour);
      shape.setAttribute("stroke-width", "1");
      g.appendChild(shape); g.appendChild(hole); svg.appendChild(g);
      return svg;
    }
    if (item.shape === "circle" || item.shape === "dot") {
      shape = document.createElementNS(SVG, "circle");
      shape.setAttribute("cx", "11"); shape.setAttribute("cy", "7");
      shape.setAttribute("r", item.shape === "dot" ? "4" : "6");
    } else if (item.shape === "line") {
      shape = document.createElementNS(SVG, "line");
      shape.setAttribute("x1", "1"); shape.setAttribute("y1", "7"); shape.setAttribute("x2", "21"); shape.setAttribute("y2", "7");
    } else if (item.shape === "square" || item.shape === "open-square") {
      shape = document.createElementNS(SVG, "rect");
      shape.setAttribute("x", "5"); shape.setAttribute("y", "1"); shape.setAttribute("width", "12"); shape.setAttribute("height", "12");
    } else {
      shape = document.createElementNS(SVG, "rect");
      shape.setAttribute("x", "1"); shape.setAttribute("y", "1"); shape.setAttribute("width", "20"); shape.setAttribute("height", "12");
    }
    var filled = ["line", "outline", "open-square"].indexOf(item.shape) < 0;
    shape.setAttribute("fill", filled ? item.colour : "none");
    if (item.fillOpacity !== undefined) { shape.setAttribute("fill-opacity", String(item.fillOpacity)); }
    shape.setAttribute("stroke", item.stroke || item.colour);
    shape.setAttribute("stroke-width", String(item.weight || (filled ? 1 : 2.5)));
    if (item.dash) { shape.setAttribute("stroke-dasharray", item.dash); }
    svg.appendChild(shape);
    return svg;
  }

  function legend(map, items) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      // A disclosure: open where the map is wide, folded on a phone so it hides little.
      var box = L.DomUtil.create("details", "map-legend");
      box.open = map.getContainer().clientWidth >= 560;
      var title = L.DomUtil.create("summary", "map-legend-title", box);
      title.textContent = "Key";
      var list = L.DomUtil.create("ul", "", box);
      items.forEach(function (item) {
        var li = L.DomUtil.create("li", "", list);
        li.appendChild(swatch(item));
        var text = document.createElement("span");
        text.textContent = item.label;
        li.appendChild(text);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
    return control;
  }

  window.saferstreetsBasemap = function (map) {
    var panes = { areas: "ss-areas", hotspots: "ss-hotspots", bases: "ss-bases" };
    // Leaflet's own panes: tiles 200, overlays 400, markers 600, tooltips 650, popups 700.
    [[panes.areas, 410], [panes.hotspots, 450], [panes.bases, 620]].forEach(function (p) {
      if (!map.getPane(p[0])) { map.createPane(p[0]).style.zIndex = String(p[1]); }
    });
    var base = streets(map);
    var layerControl = null;
    return {
      panes: panes,
      streets: base,
      legend: function (items) {
        var all = items.slice();
        if (base) { all.unshift({ shape: "line", colour: "#b8b3a4", weight: 4, label: "Streets and places" }); }
        return legend(map, all);
      },
      layers: function (overlays) {
        var bases = {};
        var shown = {};
        if (base) { shown["Streets and places"] = base; }
        Object.keys(overlays).forEach(function (k) { if (overlays[k]) { shown[k] = overlays[k]; } });
        if (layerControl) { map.removeControl(layerControl); }
        layerControl = L.control.layers(bases, shown, { collapsed: true, position: "topright" }).addTo(map);
        return layerControl;
      }
    };
  };
  window.saferstreetsBasemap.config = config;
})();

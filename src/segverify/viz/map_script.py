"""The interactive map's script and style (our own, no library). The script reads the JSON in
``#segmap-data`` and builds the map inside ``#segmap`` with DOM calls only: every topology string
goes in through ``textContent`` or an attribute, never through HTML parsing.

``window.segmap`` offers a small API (node count, highlighted nodes, select a finding, zoom to a
group) for people's browser consoles and for the browser test."""

from __future__ import annotations

CSS = """
.segmap { display: flex; flex-direction: column; border: 1px solid #d5dbe1; font-size: 13px;
          font-family: "Noto Sans CJK JP", "IPAexGothic", "Hiragino Sans", "Meiryo", sans-serif; background: #fff; }
.segmap .bar { display: flex; gap: 8px; align-items: center; padding: 6px 8px; border-bottom: 1px solid #d5dbe1;
               background: #f6f8fa; flex-wrap: wrap; }
.segmap .bar input { width: 200px; padding: 3px 6px; }
.segmap .bar .state { font-weight: 700; margin-left: auto; }
.segmap .bar .state.fail { color: #b71c1c; } .segmap .bar .state.pass { color: #2e7d32; }
.segmap .bar .msg { color: #b71c1c; }
.segmap .main { display: flex; flex: 1; min-height: 0; }
.segmap svg.canvas { flex: 1; min-width: 0; cursor: grab; background: #fcfcfd; user-select: none; }
.segmap svg.canvas.dragging { cursor: grabbing; }
.segmap .side { width: 340px; overflow: auto; border-left: 1px solid #d5dbe1; padding: 6px 10px; }
.segmap .side h4 { margin: 8px 0 4px; font-size: 13px; }
.segmap .side .hint { color: #5f6b76; font-size: 12px; }
.segmap .flist { list-style: none; margin: 0; padding: 0; }
.segmap .flist li { padding: 3px 6px; border-left: 4px solid #c62828; margin: 2px 0; cursor: pointer; }
.segmap .flist li.warning { border-left-color: #d97800; } .segmap .flist li.suppressed { border-left-color: #9aa3ad; }
.segmap .flist li.selected { background: #fdeeee; }
.segmap .flist li code, .segmap .hops code { font-family: "DejaVu Sans Mono", monospace; font-size: 11.5px; }
.segmap .hops { margin: 4px 0; padding-left: 22px; }
.segmap .hops li { margin: 3px 0; }
.segmap .hops .at { color: #5f6b76; }
.segmap .tip { position: absolute; pointer-events: none; background: #fff; border: 1px solid #9aa3ad;
               border-radius: 4px; padding: 6px 8px; font-size: 12px; max-width: 380px; box-shadow: 0 2px 6px #0002;
               display: none; z-index: 10; white-space: pre-wrap; }
.segmap .edge { stroke: #9aa3ad; stroke-width: 1; }
.segmap .node { stroke: #fff; stroke-width: 1; cursor: pointer; }
.segmap .node.dual { stroke: #b71c1c; stroke-width: 2.5; stroke-dasharray: 3 2; }
.segmap .node.marked { stroke: #d62020; stroke-width: 2.5; }
.segmap .node.hl { stroke: #d62020; stroke-width: 4; }
.segmap .node.found { stroke: #1565c0; stroke-width: 4; }
.segmap .label { font-size: 10px; fill: #222; text-anchor: middle; pointer-events: none; }
.segmap svg.far .label { display: none; }
.segmap .group rect { fill: none; stroke: #8a96a3; stroke-width: 1; stroke-dasharray: 4 3; }
.segmap .group text { font-weight: 700; fill: #37474f; cursor: pointer; }
.segmap .group.collapsed rect { fill: #eef2f6; stroke-dasharray: none; stroke: #607d8b; }
.segmap .band { stroke: none; opacity: 0.75; }
.segmap .path { fill: none; stroke: #d62020; stroke-width: 4; stroke-linejoin: round; opacity: 0.9; }
.segmap .path.suppressed { stroke: #e08a00; stroke-dasharray: 8 5; }
.segmap .hidden { display: none; }
@media print { .segmap { display: none; } }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var root = document.getElementById("segmap");
  var data = JSON.parse(document.getElementById("segmap-data").textContent);
  var T = data.text, NS = "http://www.w3.org/2000/svg";
  var nodes = data.nodes, edges = data.edges, findings = data.findings;

  function fmt(key, params) {
    var s = T[key] || key;
    Object.keys(params || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(params[k])); });
    return s;
  }
  function h(tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function s(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }

  // -- skeleton -----------------------------------------------------------------------------------
  root.style.position = "relative";
  var bar = h("div", "bar", null, root);
  var search = h("input", null, null, bar);
  search.type = "search"; search.placeholder = T.search; search.setAttribute("list", "segmap-names");
  var names = h("datalist", null, null, bar); names.id = "segmap-names";
  nodes.forEach(function (n) { var o = h("option", null, null, names); o.value = n.n; });
  h("label", null, T.group_by + ":", bar);
  var mode = h("select", null, null, bar);
  ["municipality", "segment", "zone"].forEach(function (m) {
    var o = h("option", null, T["group_" + m], mode); o.value = m;
  });
  var collapseAll = h("button", null, T.collapse_all, bar);
  var expandAll = h("button", null, T.expand_all, bar);
  var fitButton = h("button", null, T.fit, bar);
  var msg = h("span", "msg", "", bar);
  var v = data.verdict;
  h("span", "state " + (v.compliant ? "pass" : "fail"),
    (v.compliant ? T.compliant : T.not_compliant) + " — " + fmt("counts", v) + " — " +
    fmt("devices", {n: nodes.length}), bar);
  var main = h("div", "main", null, root);
  var svg = s("svg", {"class": "canvas"}, main);
  var view = s("g", {"class": "viewport"}, svg);
  var layers = {};
  ["bands", "groups", "edges", "paths", "nodes", "labels"].forEach(function (k) {
    layers[k] = s("g", {"class": "layer-" + k}, view);
  });
  var side = h("div", "side", null, main);
  h("p", "hint", T.hint, side);
  var detail = h("div", "detail", null, side);  // the selected finding, above the list
  h("h4", null, T.findings + " (" + findings.length + ")", side);
  var flist = h("ul", "flist", null, side);
  var tip = h("div", "tip", null, root);

  // -- nodes, labels, edges ---------------------------------------------------------------------------
  var nodeEls = [], labelEls = [], byName = {};
  nodes.forEach(function (n, i) {
    byName[n.n] = i;
    var band = data.bands[n.b] || {colour: "#777"};
    var cls = "node" + (n.dual ? " dual" : "") + (n.f.length ? " marked" : "");
    var p = s("path", {d: data.shapes[n.k] || data.shapes.host, transform: "translate(" + n.x + "," + n.y + ")",
                       fill: band.colour, "class": cls, "data-i": i, "data-name": n.n}, layers.nodes);
    nodeEls.push(p);
    var t = s("text", {x: n.x, y: n.ly, "class": "label"}, layers.labels);
    t.textContent = n.n;
    labelEls.push(t);
  });
  var edgeEls = edges.map(function (e) { return s("line", {"class": "edge"}, layers.edges); });

  // -- groups -------------------------------------------------------------------------------------
  var groups = {}, groupOf = [], collapsed = {};
  var segTitle = function (b) { return (data.bands[b] || {title: b}).title; };
  function keyOf(n, m) {
    if (m === "municipality") return n.m;
    if (m === "segment") return n.m + " · " + segTitle(n.b);
    return n.m + " · " + n.z;
  }
  function buildGroups() {
    layers.groups.textContent = ""; groups = {}; collapsed = {};
    var m = mode.value;
    nodes.forEach(function (n, i) {
      var k = keyOf(n, m);
      var g = groups[k] || (groups[k] = {key: k, members: [], x0: 1e9, y0: 1e9, x1: -1e9, y1: -1e9});
      g.members.push(i); groupOf[i] = k;
      g.x0 = Math.min(g.x0, n.x); g.y0 = Math.min(g.y0, n.y); g.x1 = Math.max(g.x1, n.x); g.y1 = Math.max(g.y1, n.y);
    });
    Object.keys(groups).sort().forEach(function (k) {
      var g = groups[k], pad = 26;
      g.el = s("g", {"class": "group", "data-key": k}, layers.groups);
      g.rect = s("rect", {x: g.x0 - pad, y: g.y0 - pad, width: g.x1 - g.x0 + 2 * pad,
                          height: g.y1 - g.y0 + 2 * pad + 12, rx: 8}, g.el);
      g.text = s("text", {x: g.x0 - pad + 6, y: g.y0 - pad - 6}, g.el);
      g.rect.addEventListener("click", function (ev) { if (collapsed[k]) { ev.stopPropagation(); toggle(k, false); } });
      g.text.textContent = k + " (" + g.members.length + ")";
      g.text.addEventListener("click", function (ev) { ev.stopPropagation(); toggle(k); });
      g.cx = (g.x0 + g.x1) / 2; g.cy = (g.y0 + g.y1) / 2;
    });
  }
  function toggle(k, state) {
    var g = groups[k];
    collapsed[k] = state === undefined ? !collapsed[k] : state;
    g.el.setAttribute("class", "group" + (collapsed[k] ? " collapsed" : ""));
    g.members.forEach(function (i) {
      nodeEls[i].classList.toggle("hidden", !!collapsed[k]);
      labelEls[i].classList.toggle("hidden", !!collapsed[k]);
    });
    drawEdges();
  }
  function at(i) {
    var k = groupOf[i];
    if (collapsed[k]) return [groups[k].cx, groups[k].cy, k];
    return [nodes[i].x, nodes[i].y, null];
  }
  function drawEdges() {
    edges.forEach(function (e, j) {
      var a = at(e[0]), b = at(e[1]), el = edgeEls[j];
      if (a[2] !== null && a[2] === b[2]) { el.classList.add("hidden"); return; }
      el.classList.remove("hidden");
      el.setAttribute("x1", a[0]); el.setAttribute("y1", a[1]); el.setAttribute("x2", b[0]); el.setAttribute("y2", b[1]);
    });
  }

  // -- pan and zoom -------------------------------------------------------------------------------
  var tx = 0, ty = 0, k = 1;
  function apply() {
    view.setAttribute("transform", "translate(" + tx + "," + ty + ") scale(" + k + ")");
    svg.classList.toggle("far", k < 0.55);
    layers.groups.setAttribute("font-size", Math.min(13 / k, 400));  // group names stay readable
  }
  function fitBox(x0, y0, x1, y1) {
    var r = svg.getBoundingClientRect(), w = Math.max(r.width, 100), hh = Math.max(r.height, 100), pad = 40;
    k = Math.min((w - 2 * pad) / Math.max(x1 - x0, 1), (hh - 2 * pad) / Math.max(y1 - y0, 1), 2.5);
    tx = (w - k * (x0 + x1)) / 2; ty = (hh - k * (y0 + y1)) / 2;
    apply();
  }
  function fitAll() {
    var x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    nodes.forEach(function (n) { x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); });
    fitBox(x0 - 40, y0 - 60, x1 + 40, y1 + 40);
  }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    var f = Math.exp(-ev.deltaY * 0.0015), nk = Math.min(Math.max(k * f, 0.02), 8);
    tx = mx - (mx - tx) * nk / k; ty = my - (my - ty) * nk / k; k = nk; apply();
  }, {passive: false});
  var drag = null;
  svg.addEventListener("mousedown", function (ev) { drag = [ev.clientX - tx, ev.clientY - ty]; svg.classList.add("dragging"); });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    tx = ev.clientX - drag[0]; ty = ev.clientY - drag[1]; apply();
  });
  window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("dragging"); });

  // -- hover: interfaces, ACLs, findings of a device ---------------------------------------------------
  layers.nodes.addEventListener("mouseover", function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute("data-i");
    if (i === null || i === undefined) return;
    var n = nodes[+i], lines = [n.n + " — " + n.k + " (" + n.segs.join(", ") + ")" + (n.dual ? " ⚠ " + T.dual_homed : "")];
    lines.push(T.interfaces + ":");
    n.ifs.forEach(function (f) {
      lines.push("  " + f[0] + "  " + (f[1] || "-") + "  [" + f[2] + "]" + (f[3] ? "  in:" + f[3] : "") + (f[4] ? "  out:" + f[4] : ""));
    });
    if (n.acls.length) {
      lines.push(T.acls + ":");
      n.acls.forEach(function (a) { lines.push("  " + a[0] + ": " + fmt("acl_lines", {n: a[1], "default": a[2]})); });
    }
    if (n.f.length) lines.push(T.device_findings + ": " + n.f.map(function (r) { return "#" + r; }).join(" "));
    tip.textContent = lines.join("\n");
    tip.style.display = "block";
  });
  layers.nodes.addEventListener("mousemove", function (ev) {
    var r = root.getBoundingClientRect();
    tip.style.left = (ev.clientX - r.left + 14) + "px"; tip.style.top = (ev.clientY - r.top + 14) + "px";
  });
  layers.nodes.addEventListener("mouseout", function () { tip.style.display = "none"; });

  // -- findings: list, highlight, hops ---------------------------------------------------------------
  var selected = null;
  if (!findings.length) h("p", "hint", T.no_findings, flist);
  findings.forEach(function (f, j) {
    var li = h("li", f.severity === "error" ? "" : f.severity, null, flist);
    li.setAttribute("data-ref", f.ref);
    h("strong", null, "#" + f.ref + " ", li);
    h("code", null, f.rule, li);
    li.appendChild(document.createTextNode(" " + f.title));
    li.addEventListener("click", function () { select(j); side.scrollTop = 0; });
  });
  function clearSelection() {
    layers.paths.textContent = "";
    nodeEls.forEach(function (e) { e.classList.remove("hl"); });
    Array.prototype.forEach.call(flist.children, function (li) { li.classList.remove("selected"); });
    detail.textContent = "";
  }
  function select(j) {
    clearSelection();
    var f = findings[j]; selected = f.ref;
    flist.children[j].classList.add("selected");
    root.setAttribute("data-selected", f.ref);
    f.nodes.forEach(function (i) { if (collapsed[groupOf[i]]) toggle(groupOf[i], false); nodeEls[i].classList.add("hl"); });
    if (f.path.length >= 2) {
      s("polyline", {"class": "path" + (f.severity === "suppressed" ? " suppressed" : ""),
                     points: f.path.map(function (i) { return nodes[i].x + "," + nodes[i].y; }).join(" ")}, layers.paths);
    }
    var x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    f.nodes.forEach(function (i) { var n = nodes[i]; x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); });
    if (f.nodes.length) fitBox(x0 - 160, y0 - 120, x1 + 160, y1 + 120);
    h("h4", null, "#" + f.ref + " " + f.rule + " — " + T["severity_" + f.severity], detail);
    h("p", null, f.title, detail);
    h("p", "hint", f.message, detail);
    var fix = h("p", null, T.fix_at + ": ", detail); h("code", null, f.at, fix);
    if (f.witness) { var w = h("p", null, T.witness + ": ", detail); h("code", null, f.witness, w); }
    if (f.hops.length) {
      h("h4", null, T.hops, detail);
      var ol = h("ol", "hops", null, detail);
      f.hops.forEach(function (hop) {
        var li = h("li", null, null, ol);
        h("strong", null, hop.node, li);
        li.appendChild(document.createTextNode(hop["in"] ? " " + T["in"] + " " + hop["in"] : " (" + T.sends + ")"));
        hop.acl.forEach(function (d) {
          var line = h("div", null, d.action + " " + d.acl + " " + (d.line === null ? T["default"] : T.line + " " + d.line) + " ", li);
          h("code", "at", d.at, line);
        });
        if (hop.route) {
          var r = h("div", null, T.route + " " + hop.route.prefix + (hop.route.via ? " via " + hop.route.via : " " + T.connected) + " ", li);
          if (hop.route.at) h("code", "at", hop.route.at, r);
        }
        if (hop.nat) h("div", null, T.nat + ": " + hop.nat.join("; "), li);
        if (hop.out) h("div", null, T.out + " " + hop.out, li);
      });
      h("p", "hint", T.outcome + ": " + f.outcome, detail);
    }
  }

  // -- search, controls ------------------------------------------------------------------------------
  function find(name) {
    nodeEls.forEach(function (e) { e.classList.remove("found"); });
    var i = byName[name];
    if (i === undefined) {
      var lower = name.toLowerCase();
      i = nodes.findIndex(function (n) { return n.n.toLowerCase().indexOf(lower) >= 0; });
    }
    if (i === undefined || i < 0) { msg.textContent = fmt("not_found", {name: name}); return false; }
    msg.textContent = "";
    if (collapsed[groupOf[i]]) toggle(groupOf[i], false);
    nodeEls[i].classList.add("found");
    fitBox(nodes[i].x - 300, nodes[i].y - 200, nodes[i].x + 300, nodes[i].y + 200);
    return true;
  }
  search.addEventListener("change", function () { if (search.value) find(search.value); });
  mode.addEventListener("change", function () {
    buildGroups();
    nodeEls.forEach(function (e) { e.classList.remove("hidden"); });
    labelEls.forEach(function (e) { e.classList.remove("hidden"); });
    drawEdges();
  });
  collapseAll.addEventListener("click", function () { Object.keys(groups).forEach(function (g) { toggle(g, true); }); });
  expandAll.addEventListener("click", function () { Object.keys(groups).forEach(function (g) { toggle(g, false); }); });
  fitButton.addEventListener("click", fitAll);

  // -- bands (segment regions) per municipality --------------------------------------------------------
  var boxes = {};
  nodes.forEach(function (n) {
    var key = n.m + "|" + n.b, b = boxes[key] || (boxes[key] = {band: n.b, x0: 1e9, y0: 1e9, x1: -1e9, y1: -1e9});
    b.x0 = Math.min(b.x0, n.x); b.y0 = Math.min(b.y0, n.y); b.x1 = Math.max(b.x1, n.x); b.y1 = Math.max(b.y1, n.y);
  });
  Object.keys(boxes).sort().forEach(function (key) {
    var b = boxes[key], band = data.bands[b.band] || {fill: "#f4f4f4"};
    s("rect", {"class": "band", x: b.x0 - 30, y: b.y0 - 18, width: b.x1 - b.x0 + 60, height: b.y1 - b.y0 + 44,
               rx: 6, fill: band.fill}, layers.bands);
  });

  buildGroups();
  drawEdges();
  fitAll();
  window.addEventListener("resize", fitAll);
  window.segmap = {
    nodeCount: function () { return layers.nodes.querySelectorAll(".node").length; },
    visibleCount: function () { return layers.nodes.querySelectorAll(".node:not(.hidden)").length; },
    highlighted: function () {
      return Array.prototype.map.call(layers.nodes.querySelectorAll(".node.hl"), function (e) { return e.getAttribute("data-name"); });
    },
    pathPoints: function () { var p = layers.paths.querySelector("polyline"); return p ? p.getAttribute("points") : ""; },
    select: function (ref) { var j = findings.findIndex(function (f) { return f.ref === String(ref); }); if (j >= 0) select(j); return j >= 0; },
    find: find,
    groups: function () { return Object.keys(groups).sort(); },
    toggle: function (key, state) { toggle(key, state); },
    zoomToGroup: function (key) { var g = groups[key]; if (!g) return false; fitBox(g.x0 - 40, g.y0 - 60, g.x1 + 40, g.y1 + 40); return true; },
    setMode: function (m) { mode.value = m; mode.dispatchEvent(new Event("change")); }
  };
  root.setAttribute("data-ready", "true");
})();
"""

// Small SVG charts of the statistics page (no library, no CDN).
// Each <figure data-chart="traffic|money" data-series='{...}'> gets an <svg>:
//   traffic: bars of attempts and answered per bucket;
//   money:   lines of revenue, cost and profit per bucket.
// Every bar/point is an element with data-series, data-label and data-value and a
// <title> (the tooltip); the numbers are those of the "Chart data" table under it.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 800, H = 260, LEFT = 64, RIGHT = 36, TOP = 12, BOTTOM = 44;
  var COLORS = {attempts: "#94a3b8", answered: "#2563eb", revenue: "#16a34a",
                cost: "#dc2626", profit: "#7c3aed"};
  var NAMES = {attempts: "Attempts", answered: "Answered", revenue: "Revenue",
               cost: "Cost", profit: "Profit"};

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function text(parent, x, y, content, attrs) {
    var node = el("text", Object.assign({x: x, y: y, "font-size": 11, fill: "#475569"},
                                        attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  // The top of the axis: 4 grid steps of a "nice" size (1, 2, 2.5 or 5 x 10^k).
  function niceMax(value, whole) {
    var step = Math.max(value, 0) / 4;
    if (step <= 0) { return whole ? 4 : 1; }
    var power = Math.pow(10, Math.floor(Math.log10(step)));
    var nice = [1, 2, 2.5, 5, 10].map(function (m) { return m * power; })
      .filter(function (s) { return s >= step && (!whole || s === Math.round(s)); })[0];
    return 4 * (whole ? Math.max(1, nice || Math.ceil(step)) : nice);
  }

  function frame(svg, labels, low, high, money) {
    var plotH = H - TOP - BOTTOM;
    for (var i = 0; i <= 4; i++) {
      var value = low + (high - low) * i / 4;
      var y = TOP + plotH - plotH * i / 4;
      el("line", {x1: LEFT, x2: W - RIGHT, y1: y, y2: y, stroke: "#e2e8f0"}, svg);
      text(svg, LEFT - 6, y + 4, money ? value.toFixed(2) : String(Math.round(value)),
           {"text-anchor": "end"});
    }
    var every = Math.max(1, Math.ceil(labels.length / 7));
    var slot = (W - LEFT - RIGHT) / Math.max(labels.length, 1);
    labels.forEach(function (label, index) {
      if (index % every === 0) {
        var short = label.length > 10 ? label.slice(5) : label;  // "03-01 10:00"
        text(svg, LEFT + slot * (index + 0.5), H - BOTTOM + 16, short,
             {"text-anchor": "middle", "data-axis": "x"});
      }
    });
    return {slot: slot, y: function (v) { return TOP + plotH - plotH * (v - low) / (high - low); }};
  }

  function legend(svg, names) {
    var x = LEFT;
    names.forEach(function (name) {
      el("rect", {x: x, y: H - 16, width: 10, height: 10, fill: COLORS[name]}, svg);
      text(svg, x + 14, H - 7, NAMES[name]);
      x += 90;
    });
  }

  function tip(node, label, name, value) {
    el("title", {}, node).textContent = label + ": " + NAMES[name] + " " + value;
  }

  function traffic(svg, data) {
    var high = niceMax(Math.max.apply(null, data.attempts), true);
    var f = frame(svg, data.labels, 0, high, false);
    var bar = Math.max(1, f.slot * 0.38);
    data.labels.forEach(function (label, i) {
      ["attempts", "answered"].forEach(function (name, k) {
        var value = data[name][i];
        var y = f.y(value);
        var node = el("rect", {x: LEFT + f.slot * i + f.slot * 0.1 + k * bar, y: y,
                               width: bar, height: Math.max(0, f.y(0) - y),
                               fill: COLORS[name], "data-series": name,
                               "data-label": label, "data-value": value}, svg);
        tip(node, label, name, value);
      });
    });
    legend(svg, ["attempts", "answered"]);
  }

  function money(svg, data) {
    var names = ["revenue", "cost", "profit"];
    var numbers = {};
    var all = [0];
    names.forEach(function (name) {
      numbers[name] = data[name].map(parseFloat);
      all = all.concat(numbers[name]);
    });
    var high = niceMax(Math.max.apply(null, all), false);
    var lowest = Math.min.apply(null, all);
    var low = lowest < 0 ? -niceMax(-lowest, false) : 0;
    var f = frame(svg, data.labels, low, high, true);
    names.forEach(function (name) {
      var points = numbers[name].map(function (v, i) {
        return [LEFT + f.slot * (i + 0.5), f.y(v)];
      });
      el("polyline", {points: points.map(function (p) { return p.join(","); }).join(" "),
                      fill: "none", stroke: COLORS[name], "stroke-width": 2,
                      "data-line": name}, svg);
      points.forEach(function (p, i) {
        var node = el("circle", {cx: p[0], cy: p[1], r: 3, fill: COLORS[name],
                                 "data-series": name, "data-label": data.labels[i],
                                 "data-value": data[name][i]}, svg);
        tip(node, data.labels[i], name, data[name][i] + " " + data.currency);
      });
    });
    legend(svg, names);
  }

  function draw(figure) {
    var data = JSON.parse(figure.getAttribute("data-series"));
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img",
                         "aria-label": figure.querySelector("figcaption").textContent,
                         "data-points": data.labels.length});
    figure.insertBefore(svg, figure.firstChild);
    (figure.getAttribute("data-chart") === "money" ? money : traffic)(svg, data);
  }

  document.querySelectorAll("figure[data-chart]").forEach(draw);
})();

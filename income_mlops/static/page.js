// The prediction page: the form's values to /predict?explain=true, the answer (or each error next to its field), the served
// model and the monitor's verdict from /model_info. The token, when one is needed, lives only in this variable.
"use strict";
(function () {
  var app = document.getElementById("app");
  var form = document.getElementById("predict-form");
  var statusEl = document.getElementById("status");
  var token = "";

  function headers(extra) {
    var h = Object.assign({Accept: "application/json"}, extra || {});
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  function fmt(x, digits) { return typeof x === "number" ? x.toFixed(digits === undefined ? 3 : digits) : String(x); }

  function showStatus(msg) { statusEl.textContent = msg || ""; statusEl.className = msg ? "shown" : ""; }

  // ------------------------------------------------------------------------------------------------------------- the form
  function record() {
    var rec = {};
    form.querySelectorAll("input, select").forEach(function (inp) {
      var v = inp.value.trim();
      if (v === "") rec[inp.name] = null;
      else if (inp.type === "number" && /^-?\d+(\.\d+)?$/.test(v)) rec[inp.name] = Number(v);
      else rec[inp.name] = v;  // the API says what is wrong with it
    });
    return rec;
  }

  function clearErrors() {
    form.querySelectorAll(".error").forEach(function (p) { p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
  }

  function fieldOf(detail) {
    // "age", "education_num" (the other spelling) or "records.0.age": the last part names the field
    var name = String(detail.field || "").split(".").pop().replace(/_/g, "-");
    return form.querySelector('.field[data-field="' + name + '"]');
  }

  function showErrors(body) {
    var unplaced = [];
    (body.details || []).forEach(function (d) {
      var f = fieldOf(d);
      if (!f) { unplaced.push(d.field + ": " + d.message); return; }
      var msg = d.message + (d.allowed ? " (allowed: " + d.allowed.join(", ") + ")" : "");
      f.querySelector(".error").textContent = msg;
      f.querySelector("input, select").setAttribute("aria-invalid", "true");
    });
    showStatus(body.message + (unplaced.length ? "" : " -- see the fields marked below."));
    var first = form.querySelector("[aria-invalid]");
    if (first) first.focus();
  }

  // ----------------------------------------------------------------------------------------------------------- the answer
  function showPrediction(p) {
    document.getElementById("result-empty").hidden = true;
    document.getElementById("result-body").hidden = false;
    document.getElementById("result-label").textContent = p.label;
    var pct = Math.round(p.probability * 1000) / 10;
    document.getElementById("meter-fill").style.width = pct + "%";
    document.getElementById("meter-fill").className = "meter-fill " + (p["class"] ? "pos" : "neg");
    document.getElementById("meter-mark").style.left = (p.threshold * 100) + "%";
    var side = p.probability >= p.threshold ? "at or above" : "below";
    document.getElementById("result-text").textContent = "Probability of >50K: " + fmt(p.probability) +
      " against the threshold " + fmt(p.threshold) + " (" + side + "); confidence " + fmt(p.confidence, 2) +
      "; model version " + p.model_version + ".";
    drawChart(p.contributions || []);
    var result = document.getElementById("result");
    if (result.getBoundingClientRect().top > window.innerHeight) result.scrollIntoView({block: "start"});  // on a phone
  }

  function drawChart(contribs) {
    // one row per feature: its value, a bar from the centre line (right: towards >50K), the SHAP value
    var chart = document.getElementById("chart");
    var maxAbs = Math.max.apply(null, contribs.map(function (c) { return Math.abs(c.contribution); }).concat([1e-9]));
    chart.replaceChildren.apply(chart, contribs.map(function (c) {
      var li = el("li"), track = el("span", null, {"class": "track", "aria-hidden": "true"});
      var w = Math.abs(c.contribution) / maxAbs * 50, pos = c.contribution >= 0;
      var bar = el("span", null, {"class": "bar " + (pos ? "pos" : "neg")});
      bar.style.left = (pos ? 50 : 50 - w) + "%";
      bar.style.width = Math.max(w, 0.5) + "%";
      track.appendChild(bar);
      li.appendChild(el("span", c.feature + " = " + (c.value === null ? "unknown" : c.value), {"class": "name"}));
      li.appendChild(track);
      li.appendChild(el("span", (pos ? "+" : "") + fmt(c.contribution), {"class": "num"}));
      return li;
    }));
  }

  async function predict(ev) {
    ev.preventDefault();
    clearErrors();
    showStatus("");
    var button = document.getElementById("predict-button");
    button.disabled = true;
    try {
      var r = await fetch(app.dataset.predict, {method: "POST", headers: headers({"Content-Type": "application/json"}),
                                                body: JSON.stringify(record())});
      var body = await r.json();
      if (r.ok) showPrediction(body);
      else if (r.status === 401) { showStatus(body.message + " -- enter the token above."); focusToken(); }
      else showErrors(body);
    } catch (e) {
      showStatus("The API did not answer: " + e);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------------------------------------ model and monitoring
  function fact(dl, name, value) {
    if (value === undefined || value === null || value === "") return;
    dl.appendChild(el("dt", name));
    dl.appendChild(el("dd", value));
  }

  function showModel(info) {
    document.getElementById("model-empty").hidden = true;
    var dl = document.getElementById("model-facts");
    dl.replaceChildren();
    dl.hidden = false;
    fact(dl, "name", info.name);
    fact(dl, "version", info.version);
    fact(dl, "alias", info.alias);
    fact(dl, "trained", info.created);
    fact(dl, "threshold", fmt(info.threshold, 4));
    fact(dl, "run", info.run_id);
    var metrics = info.metrics || {}, iv = metrics.intervals || {};
    var names = Object.keys(metrics).filter(function (k) { return typeof metrics[k] === "number"; });
    var table = document.getElementById("model-metrics"), tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    names.forEach(function (k) {
      var tr = el("tr");
      tr.appendChild(el("th", k, {scope: "row"}));
      tr.appendChild(el("td", fmt(metrics[k], 4)));
      var i = iv[k];
      tr.appendChild(el("td", i && typeof i.lo === "number" ? fmt(i.lo, 4) + " – " + fmt(i.hi, 4) : "–"));
      tbody.appendChild(tr);
    });
    table.hidden = names.length === 0;
    var card = (info.metadata || {}).model_card, details = document.getElementById("model-card");
    details.hidden = !card;
    if (card) details.querySelector("pre").textContent = card;
    showMonitoring(info.monitoring || {});
  }


  function showMonitoring(m) {
    var verdict = document.getElementById("monitoring-verdict"), ul = document.getElementById("monitoring-details");
    verdict.replaceChildren();
    ul.replaceChildren();
    verdict.appendChild(el("strong", m.status || "unknown", {"class": "verdict " + (m.status || "unknown")}));
    if (m.message) verdict.appendChild(document.createTextNode(": " + m.message));
    if (m.generated) {
      ul.appendChild(el("li", "checked " + m.generated + (m.window_rows ? " on " + m.window_rows + " predictions" : "")));
    }
    (m.alerts || []).forEach(function (a) { ul.appendChild(el("li", typeof a === "string" ? a : JSON.stringify(a))); });
    if ((m.drifted_features || []).length) ul.appendChild(el("li", "drifted: " + m.drifted_features.join(", ")));
    if (typeof m.positive_rate === "number") {
      ul.appendChild(el("li", "positive rate " + fmt(m.positive_rate) + " (reference " + fmt(m.positive_rate_reference) + ")"));
    }
    if (m.report) {
      // The API names a report file without its server path (no paths leave the server); a URL becomes a link.
      var li = el("li", "report: ");
      var isUrl = /^https?:\/\//.test(m.report);
      li.appendChild(isUrl ? el("a", m.report, {href: m.report, id: "monitoring-report"})
                           : el("code", m.report, {id: "monitoring-report"}));
      if (!isUrl) li.appendChild(document.createTextNode(" (in the monitor's reports directory)"));
      ul.appendChild(li);
    }
  }

  async function loadModel() {
    var empty = document.getElementById("model-empty");
    try {
      var r = await fetch(app.dataset.modelInfo, {headers: headers()});
      var body = await r.json();
      if (r.ok) { showModel(body); return; }
      empty.hidden = false;
      empty.textContent = r.status === 401 ? "Enter the API token above to see the served model." : body.message;
      document.getElementById("monitoring-verdict").textContent = empty.textContent;
    } catch (e) {
      empty.textContent = "The API did not answer: " + e;
    }
  }

  // ---------------------------------------------------------------------------------------------------------- the token
  function focusToken() {
    var t = document.getElementById("token");
    if (t) t.focus();
  }

  var tokenForm = document.getElementById("token-form");
  if (tokenForm) {
    tokenForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      token = document.getElementById("token").value.trim();
      showStatus("");
      loadModel();
    });
  }
  form.addEventListener("submit", predict);
  loadModel();
})();

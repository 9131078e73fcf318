/* Explorers (tools/explorers.py): a figure whose settings the reader changes. Every variant was computed by
   the build; this only swaps the figure. Loaded on pages that have an explorer, nowhere else.

   The controls are native form elements (keyboard and screen reader work as they always do); they stay
   disabled until this script runs, so without JavaScript the default figure shows. The table of variants
   (variants.<lang>.json: params -> figure and alt) is fetched on the reader's first interaction with an
   explorer, not at page load. Nothing here runs at load but wiring a few listeners. */
(function () {
  "use strict";

  function keyOf(params) {
    return Object.keys(params).sort().map(function (k) { return k + "=" + params[k]; }).join("&");
  }

  function setUp(figure) {
    var box = figure.querySelector(".explorer__controls");
    var img = figure.querySelector(".explorer__figure");
    var caption = figure.querySelector(".explorer__caption");
    var url = new URL(figure.getAttribute("data-variants"), document.baseURI).href;
    var table = null, loading = null;

    function load() {
      if (!loading) {
        loading = fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (!response.ok) throw new Error(url + ": HTTP " + response.status);
          return response.json();
        }).then(function (data) {
          table = {};
          data.variants.forEach(function (v) { table[keyOf(v.params)] = v; });
        });
        loading.catch(function () { loading = null; });  // a later interaction tries again
      }
      return loading;
    }

    function settings() {
      var params = {};
      box.querySelectorAll("[data-param]").forEach(function (el) {
        var name = el.getAttribute("data-param");
        if (el.tagName === "FIELDSET") {
          var on = el.querySelector("input:checked");
          params[name] = on ? on.value : "";
        } else if (el.type === "checkbox") {
          params[name] = el.checked ? "true" : "false";
        } else if (el.type === "range") {
          params[name] = JSON.parse(el.getAttribute("data-values"))[Number(el.value)];
        } else {
          params[name] = el.value;
        }
      });
      return params;
    }

    function showRanges() {
      box.querySelectorAll("input[type=range][data-param]").forEach(function (el) {
        var label = JSON.parse(el.getAttribute("data-labels"))[Number(el.value)];
        el.setAttribute("aria-valuetext", label);
        var out = box.querySelector('output[for="' + el.id + '"]');
        if (out) out.textContent = label;
      });
    }

    function show() {
      showRanges();
      load().then(function () {
        var v = table[keyOf(settings())];  // read now: the last change wins
        if (!v) return;
        img.src = new URL(v.src, url).href;
        img.alt = v.alt;
        caption.textContent = v.alt;
        figure.setAttribute("data-shown", keyOf(v.params));
      });
    }

    box.disabled = false;
    box.addEventListener("change", show);
    box.addEventListener("input", function (event) { if (event.target.type === "range") show(); });
    // The reader reaching for a control is the first interaction: fetch the table then, ahead of the change.
    ["pointerover", "focusin", "touchstart"].forEach(function (type) {
      box.addEventListener(type, function () { load(); }, { passive: true, once: true });
    });
  }

  document.querySelectorAll("figure.explorer[data-variants]").forEach(setUp);
})();

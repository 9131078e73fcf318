// Live reload for `make serve` (tools/serve.py). The dev server adds this script to every HTML page it
// sends, as <script src="/__reload.js" data-serve="INSTANCE:GENERATION" defer>; it is never written into
// a built site. It follows the pages' Content-Security-Policy: a same-origin file (script-src 'self'), a
// same-origin EventSource (connect-src 'self'), no inline script, no eval, text set with textContent.
//
// The server sends, on /__events, only what concerns this page:
//   reload   this page (or its whole language) was rebuilt after the version shown: load it again;
//   problem  an edit failed (data: {"message": "..."}): the page shown is the last good one; say so;
//   fine     every problem is fixed: remove the notice.
(function () {
  "use strict";
  var me = document.currentScript;
  var version = (me && me.getAttribute("data-serve")) || "";
  var page = location.pathname.replace(/index\.html$/, "");
  var url = "/__events?page=" + encodeURIComponent(page) + "&version=" + encodeURIComponent(version);
  var notice = null;

  function show(message) {
    if (!notice) {
      notice = document.createElement("div");
      notice.id = "serve-notice";
      notice.setAttribute("role", "alert");
      var s = notice.style;  // CSSOM, not a style attribute: allowed by any style-src
      s.position = "fixed"; s.left = "1rem"; s.right = "1rem"; s.bottom = "1rem"; s.zIndex = "10000";
      s.maxHeight = "40vh"; s.overflow = "auto"; s.padding = "0.8rem 1rem"; s.borderRadius = "4px";
      s.background = "#b71c1c"; s.color = "#fff"; s.font = "13px/1.45 monospace"; s.whiteSpace = "pre-wrap";
      s.boxShadow = "0 2px 8px rgba(0,0,0,.4)";
      document.body.appendChild(notice);
    }
    notice.textContent = "make serve: the last edit failed; this page is the last good build.\n\n" + message;
  }

  function hide() {
    if (notice) { notice.remove(); notice = null; }
  }

  var events = new EventSource(url);
  events.addEventListener("reload", function () {
    events.close();
    location.reload();
  });
  events.addEventListener("problem", function (e) { show(JSON.parse(e.data).message); });
  events.addEventListener("fine", hide);
})();

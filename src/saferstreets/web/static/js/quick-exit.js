// Quick exit: the button or the Escape key replaces this page with a neutral site, so Back does
// not return here. On public pages, links within the site also replace the current page instead
// of adding to the history, so a visit leaves as little as possible behind in the tab's history.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) { return; }
  var leaving = false;
  function leave(event) {
    if (event) { event.preventDefault(); }
    if (leaving) { return; }
    leaving = true;
    var target = link.href;
    try { window.history.replaceState(null, "", "/"); } catch (e) { /* ignore */ }
    try { document.title = ""; document.body.hidden = true; } catch (e) { /* ignore */ }
    try { window.sessionStorage.clear(); } catch (e) { /* ignore */ }
    window.location.replace(target);
  }
  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && !event.defaultPrevented) { leave(event); }
  });

  if (document.body.getAttribute("data-history") !== "replace") { return; }
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) { return; }
    var a = event.target.closest ? event.target.closest("a[href]") : null;
    if (!a || a === link || a.target || a.hasAttribute("download")) { return; }
    var url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || url.hash && url.pathname === window.location.pathname) { return; }
    event.preventDefault();
    window.location.replace(url.href);
  });
})();

// Quick exit: replace this page (so Back does not return to it) and clear what we can.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) { return; }
  function leave(event) {
    if (event) { event.preventDefault(); }
    try { document.body.innerHTML = ""; document.title = "Weather"; } catch (e) { /* ignore */ }
    try { window.sessionStorage.clear(); } catch (e) { /* ignore */ }
    window.open(link.href, "_self", "noopener");
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") { leave(event); }
  });
})();

// Runs before the page paints: the chosen theme (or the system's) without a flash.
(function () {
  var chosen = null;
  try { chosen = localStorage.getItem("echofu-theme"); } catch (e) { /* storage blocked */ }
  var dark = chosen ? chosen === "dark" : window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.setAttribute("data-theme", dark ? "dark" : "light");
})();

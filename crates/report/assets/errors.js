// Keeps every error the page raises, for the browser tests to read (window.__mmsimErrors),
// and still shows it in the console.
window.__mmsimErrors = [];
window.addEventListener("error", function (e) {
  window.__mmsimErrors.push(String(e.message) + " at " + e.filename + ":" + e.lineno);
});
window.addEventListener("unhandledrejection", function (e) {
  window.__mmsimErrors.push("unhandled rejection: " + String(e.reason));
});
(function () {
  var original = console.error;
  console.error = function () {
    window.__mmsimErrors.push(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})();

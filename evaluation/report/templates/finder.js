/* The ward finder of a run's index (evaluation/report/index.py): typing a ward's name — with
   or without diacritics, "co nhue" or "Cổ Nhuế" — its code or its district shows only the rows
   of the wards that match and opens the groups that hold them. Inline: no library, no request. */
(function () {
  "use strict";
  var box = document.getElementById("ward-q");
  if (!box || !String.prototype.normalize) return;
  var count = document.getElementById("ward-n");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-k]"));
  var folds = Array.prototype.slice.call(document.querySelectorAll("details")).filter(
    function (d) { return d.querySelector("tr[data-k]") !== null; });
  var wasOpen = folds.map(function (d) { return d.open; });
  document.getElementById("finder").hidden = false;

  // the page's keys are made the same way (evaluation.report.index.search_key)
  function key(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[\u0111\u0110]/g, "d")
      .toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()
      .replace(/^(?:phuong|xa|thi tran|quan|huyen|p|q|x) (?=.)/, "");
  }

  function apply() {
    var q = key(box.value), found = {}, n = 0;
    rows.forEach(function (r) {
      var k = r.getAttribute("data-k");
      var hit = !q || (" " + k).indexOf(" " + q) >= 0;
      r.hidden = !hit;
      if (hit && q && !found[k]) { found[k] = true; n += 1; }
    });
    folds.forEach(function (d, i) {
      var any = !q || d.querySelector("tr[data-k]:not([hidden])") !== null;
      if (d.hasAttribute("data-g")) d.hidden = !any;
      d.open = q ? any : wasOpen[i];
    });
    // the words come from the message catalogue, with {n} for the count
    count.textContent = q ? count.getAttribute("data-matching").split("{n}").join(n) : "";
  }

  box.addEventListener("input", apply);
  var asked = /^#q=(.*)$/.exec(window.location.hash);  // a link can carry the search
  if (asked) {
    box.value = decodeURIComponent(asked[1]);
    apply();
  }
})();

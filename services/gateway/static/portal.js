// Select-all for "Mijn ontvangen bestanden". The page works without it; this only adds the box.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (!all) { return; }
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="file"]'));
  function sync() {
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = checked === boxes.length && checked > 0;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }
  all.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
});

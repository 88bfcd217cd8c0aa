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

// The password-reset link is /reset#<token>: browsers never send what follows "#", so the
// token reaches no access log and no Referer. Take it out of the address bar and post it;
// without JavaScript the manager pastes the code from the e-mail into the same form.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("reset-code");
  var token = window.location.hash.slice(1);
  if (!form || !token) { return; }
  history.replaceState(null, "", window.location.pathname);
  form.elements.token.value = token;
  form.submit();
});

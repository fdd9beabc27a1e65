// Progressive enhancement of the cookie banner: the form works without JavaScript (a normal POST);
// with it, the choice is sent in the background and the banner closes without leaving the page.
(function () {
  "use strict";
  var banner = document.getElementById("cookie-banner");
  if (!banner) { return; }
  var form = banner.querySelector("form");
  var url = form.getAttribute("action");  // form.action would be the buttons named "action"
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || !window.fetch) { return; }
    event.preventDefault();
    var data = new FormData(form);
    data.set("action", button.value);
    fetch(url, { method: "POST", body: data, credentials: "same-origin",
                 headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.statusText); }
        return response.json();
      })
      .then(function (result) {
        if (result.reload) { window.location.reload(); return; }
        banner.remove();
      })
      .catch(function () {
        // Fall back to the plain form post, keeping the button that was pressed.
        var chosen = document.createElement("input");
        chosen.type = "hidden";
        chosen.name = "action";
        chosen.value = button.value;
        form.appendChild(chosen);
        HTMLFormElement.prototype.submit.call(form);
      });
  });
})();

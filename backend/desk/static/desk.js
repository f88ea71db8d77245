// The desk console's only script: an enhancement, every page works without it.
// - [data-refresh]: a region that reloads itself (a server-rendered fragment) every few
//   seconds until the server marks it done (data-done="true"), so the steps of an onboarding
//   or a notification check appear as they happen;
// - .countdown[data-expires]: "12 min left" instead of the fixed end time; at the end the page
//   reloads (and the server says the consent has ended);
// - [data-print]: a Print button on handouts (hidden without the script).
"use strict";
(function () {
  const REFRESH_MS = 2000;

  function follow(region) {
    if (region.dataset.done === "true") return;
    const url = region.dataset.refresh;
    window.setTimeout(async function tick() {
      try {
        const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (answer.redirected || !answer.ok) { window.location.reload(); return; }
        const holder = document.createElement("div");
        holder.innerHTML = await answer.text();
        const fresh = holder.querySelector("[data-refresh]");
        if (!fresh) return;
        const focused = document.activeElement && region.contains(document.activeElement);
        region.replaceWith(fresh);
        if (focused) fresh.querySelector("h2")?.setAttribute("tabindex", "-1");
        follow(fresh);
      } catch (error) {
        window.setTimeout(tick, REFRESH_MS * 2);
      }
    }, REFRESH_MS);
  }

  function countdown(element) {
    const ends = Date.parse(element.dataset.expires);
    const template = element.dataset.left;
    if (!ends || !template) return;
    function show() {
      const left = ends - Date.now();
      if (left <= 0) { window.location.reload(); return; }
      element.textContent = template.replace("{m}", String(Math.ceil(left / 60000)));
      window.setTimeout(show, Math.min(15000, left + 500));
    }
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(follow);
    document.querySelectorAll(".countdown[data-expires]").forEach(countdown);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();

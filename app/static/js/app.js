// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" checkboxes: <input type="checkbox" data-select-all="name-of-row-checkboxes">
  document.body.addEventListener("change", (event) => {
    const toggle = event.target.closest("[data-select-all]");
    if (!toggle) return;
    const name = toggle.getAttribute("data-select-all");
    document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((box) => {
      box.checked = toggle.checked;
    });
  });
  setUpMenu();
  setUpPolling();
  setUpShareLocation();
  // <button data-print>: the print view's "Print this sheet" (the browser's own Print works too).
  document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
  // After htmx has processed the page (its own DOMContentLoaded listener runs first).
  setTimeout(restorePending, 0);
});

// --- Live parts that refresh themselves ---------------------------------------------------------
// <section id="x" data-poll-seconds="30" hx-get="..." hx-trigger="poll">: every 30 s, while the tab
// is visible, the element is sent htmx's "poll" event and so asks for itself again; a tab that
// comes back into view refreshes at once if a refresh was missed. (htmx's own "every 30s [filter]"
// needs eval, which the content security policy forbids.) The element is looked up by id at each
// tick because its swap replaces it.
function setUpPolling() {
  document.querySelectorAll("[data-poll-seconds][id]").forEach((elt) => {
    const id = elt.id;
    const seconds = Number(elt.getAttribute("data-poll-seconds"));
    if (!(seconds > 0)) return;
    let missed = false;
    const poll = () => {
      const current = document.getElementById(id);
      if (!current) return;
      if (document.visibilityState !== "visible") { missed = true; return; }
      missed = false;
      if (window.htmx) window.htmx.trigger(current, "poll");
    };
    setInterval(poll, seconds * 1000);
    document.addEventListener("visibilitychange", () => { if (missed) poll(); });
  });
}

// --- The main menu on a phone ------------------------------------------------------------------
// Without this file the menu is always open. With it, below 720 px (see app.css) the header
// shows a Menu button that opens and closes it; Escape closes it and gives focus back.

function setUpMenu() {
  const header = document.querySelector("[data-menu]");
  const toggle = header && header.querySelector(".menu-toggle");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!menu) return;
  const setOpen = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("menu-open", open);
  };
  toggle.hidden = false;
  header.classList.add("menu-ready");
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  header.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("menu-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
}

// --- Refused htmx requests: say what happened, next to the control that was used ---------------
// The server answers an htmx refusal with a small ".htmx-alert" fragment and HX-Retarget (the
// flash area). Here it is moved next to the element that made the request, which stays as it was.

function alertSlotFor(elt) {
  if (!elt || !elt.isConnected || !elt.parentNode) return document.getElementById("flashes");
  const previous = elt.previousElementSibling;
  if (previous && previous.classList.contains("htmx-alert-slot")) return previous;
  const slot = document.createElement("div");
  slot.className = "htmx-alert-slot";
  slot.setAttribute("aria-live", "assertive");
  elt.parentNode.insertBefore(slot, elt);
  return slot;
}

function clearAlertSlot(elt) {
  const previous = elt && elt.previousElementSibling;
  if (previous && previous.classList.contains("htmx-alert-slot")) previous.replaceChildren();
}

function showProblem(elt, text) {
  const slot = alertSlotFor(elt);
  const box = document.createElement("div");
  box.className = "htmx-alert refusal";
  box.setAttribute("role", "alert");
  const message = document.createElement("p");
  message.textContent = text;
  const again = document.createElement("p");
  const link = document.createElement("a");
  link.href = window.location.pathname + window.location.search;
  link.textContent = "Refresh the page";
  again.append(link);
  box.append(message, again);
  slot.replaceChildren(box);
}

// The element that made the request (an event's own detail.elt is the element it fires on: the target).
function requester(detail) {
  return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  const xhr = detail.xhr;
  const source = requester(detail);
  if (xhr.status < 400) {
    clearAlertSlot(source);
    return;
  }
  const signIn = xhr.getResponseHeader("HX-Sign-In");
  if (xhr.status === 401 && signIn) {
    detail.shouldSwap = false;
    keepPending(detail);
    window.location.assign(signIn);
    return;
  }
  if (xhr.getResponseHeader("HX-Reselect") === ".htmx-alert") {
    detail.target = alertSlotFor(source);
    detail.swapOverride = "innerHTML";
    detail.shouldSwap = true;
    detail.isError = false;
    return;
  }
  if (xhr.status >= 500) {
    // Not our answer (a proxy's error page): do not swap it into the page.
    detail.shouldSwap = false;
    showProblem(source, `The server did not answer properly (${xhr.status}); nothing was saved. Try again in a moment.`);
  }
  // Other 4xx answers are the page's own re-rendering with the refusal (409 conflicts, 422
  // invalid input): swapped like a success, as htmx.config.responseHandling says.
});

document.addEventListener("htmx:sendError", (event) => {
  showProblem(requester(event.detail), "Motorpool could not be reached: check the connection. Nothing was saved; try again.");
});
document.addEventListener("htmx:timeout", (event) => {
  showProblem(requester(event.detail), "Motorpool took too long to answer. Nothing was saved; try again.");
});

// --- A session that ended while something was being typed ---------------------------------------
// Before going to sign in, the values the request carried are kept in sessionStorage under the
// page's path; back on that page, they are put back into their fields and sent again.

const PENDING_PREFIX = "motorpool:pending:";

function keepPending(detail) {
  const elt = requester(detail);
  if (!elt || !elt.id || !window.sessionStorage) return;
  const values = {};
  Object.entries(htmx.values(elt)).forEach(([name, value]) => {
    if (name !== "csrf_token") values[name] = value;
  });
  const key = PENDING_PREFIX + window.location.pathname;
  let pending = {};
  try { pending = JSON.parse(sessionStorage.getItem(key) || "{}"); } catch (error) { pending = {}; }
  const triggering = detail.requestConfig && detail.requestConfig.triggeringEvent;
  pending[elt.id] = { values, event: triggering ? triggering.type : "change" };
  sessionStorage.setItem(key, JSON.stringify(pending));
}

function fieldsNamed(root, name) {
  return Array.from(root.querySelectorAll("input, textarea, select")).filter((field) => field.name === name);
}

function putBack(root, values) {
  const named = new Set([...root.querySelectorAll("input, textarea, select")].map((field) => field.name));
  named.forEach((name) => {
    if (!name || name === "csrf_token") return;
    const given = values[name];
    const list = given === undefined ? [] : [].concat(given).map(String);
    fieldsNamed(root, name).forEach((field) => {
      if (field.disabled) return;
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = list.includes(field.value);
      } else if (given !== undefined) {
        field.value = list[0];
      }
    });
  });
}

function restorePending() {
  if (!window.sessionStorage || typeof htmx === "undefined") return;
  const key = PENDING_PREFIX + window.location.pathname;
  const stored = sessionStorage.getItem(key);
  if (!stored) return;
  sessionStorage.removeItem(key); // once only, whatever happens next
  let pending;
  try { pending = JSON.parse(stored); } catch (error) { return; }
  Object.entries(pending).forEach(([id, entry]) => {
    const elt = document.getElementById(id);
    if (!elt) return;
    putBack(elt, entry.values || {});
    elt.addEventListener("htmx:afterRequest", (event) => {
      if (event.detail.successful) {
        say("Your unsaved answer was restored and saved.");
      }
    }, { once: true });
    htmx.trigger(elt, entry.event || "change");
  });
}

function say(text) {
  const flashes = document.getElementById("flashes");
  if (!flashes) return;
  const message = document.createElement("p");
  message.className = "flash flash-info";
  message.setAttribute("role", "status");
  message.textContent = text;
  flashes.append(message);
}

// --- "Share my location" on My work --------------------------------------------------------------
// <form data-share-location> holds hidden latitude, longitude, accuracy_m and taken_at_ms fields and
// the CSRF token; the button asks the browser for one position fix and posts the form with it. The
// server checks every value again (ranges, the device's time), so nothing here is trusted.
function setUpShareLocation() {
  const form = document.querySelector("form[data-share-location]");
  if (!form) return;
  const button = form.querySelector("[data-share-location-button]");
  const status = form.querySelector("[data-share-location-status]");
  if (!("geolocation" in navigator)) {
    status.textContent = "This browser cannot tell its location.";
    return;
  }
  button.hidden = false;
  status.textContent = "";
  const failures = {
    1: "Location permission was refused: allow this site to use your location in the browser's settings, then try again.",
    2: "The device could not work out where it is; try again outdoors or with location services on.",
    3: "Finding your location took too long; try again.",
  };
  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = "Finding your location…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const set = (name, value) => { form.elements[name].value = value; };
        // Fixed-point text: the server reads plain decimals, never "1e-7".
        set("latitude", position.coords.latitude.toFixed(7));
        set("longitude", position.coords.longitude.toFixed(7));
        set("accuracy_m", Number.isFinite(position.coords.accuracy) ? position.coords.accuracy.toFixed(1) : "");
        set("taken_at_ms", String(Math.round(position.timestamp)));
        status.textContent = "Sending…";
        form.submit();
      },
      (error) => {
        button.disabled = false;
        status.textContent = failures[error.code] || "Your location could not be read; try again.";
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
    );
  });
}

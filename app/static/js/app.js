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
});

// A refused htmx request (4xx with a fragment) still shows its message: swap 400/409/422 bodies.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status === 400 || status === 409 || status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

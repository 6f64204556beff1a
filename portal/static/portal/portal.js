// The portal works without this file; it only adds conveniences. No inline scripts anywhere
// (the Content-Security-Policy forbids them), so behaviour hangs on data- attributes.
document.documentElement.classList.add("js");
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});
// A referral link's "Copy" button (data-copy: the text; data-copied: what the button says then).
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.getAttribute("data-copy")).then(() => {
    const label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});
